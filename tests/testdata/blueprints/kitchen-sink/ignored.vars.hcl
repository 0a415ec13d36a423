site = 42 {
