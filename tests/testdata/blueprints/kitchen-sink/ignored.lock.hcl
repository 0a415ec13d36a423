this is { not valid HCL
