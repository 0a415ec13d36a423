package capacity

import (
	"fmt"
	"strconv"
	"strings"
)

// Human units for tables, advice and warnings; JSON keeps plain numbers.
// Bytes are decimal (1 GB = 1e9 B), as the hardware catalog states memory.

func humanBytes(b int64) string {
	switch x := float64(b); {
	case x >= 1e12:
		return fmt.Sprintf("%.2f TB", x/1e12)
	case x >= 1e9:
		return oneDecimal(x/1e9) + " GB"
	case x >= 1e6:
		return oneDecimal(x/1e6) + " MB"
	default:
		return fmt.Sprintf("%d B", b)
	}
}

// oneDecimal rounds x to one decimal place and drops a trailing ".0":
// 239.4, 252.
func oneDecimal(x float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0")
}

func humanRate(bytesPerS float64) string {
	switch {
	case bytesPerS >= 1e12:
		return fmt.Sprintf("%.3g TB/s", bytesPerS/1e12)
	default:
		return fmt.Sprintf("%.3g GB/s", bytesPerS/1e9)
	}
}

// humanParams spells a parameter count as 235B, 30.5B or 1.03T.
func humanParams(n int64) string {
	if n >= 1e12 {
		return strconv.FormatFloat(float64(n)/1e12, 'g', 3, 64) + "T"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'g', 3, 64) + "B"
}

// humanCount puts thousands separators in n: 1,154,720.
func humanCount(n int64) string {
	if n < 0 {
		return "-" + humanCount(-n)
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// money spells an amount with its currency, if any: "350.40 AUD".
func money(amount float64, currency string) string {
	return strings.TrimSpace(fmt.Sprintf("%.2f %s", amount, currency))
}

// humanFLOPS spells a compute rate: "2.25 PFLOP/s", "989 TFLOP/s".
func humanFLOPS(flops float64) string {
	if flops >= 1e15 {
		return strconv.FormatFloat(flops/1e15, 'g', 3, 64) + " PFLOP/s"
	}
	return strconv.FormatFloat(flops/1e12, 'g', 3, 64) + " TFLOP/s"
}
