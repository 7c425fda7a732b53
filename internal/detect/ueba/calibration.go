package ueba

import "math"

const (
	binWidth = 0.125
	nBins    = 480 // raw scores up to 60
)

// calibration turns a raw score into how rare it is among the account's
// recent raw scores: a histogram whose weights decay by a tenth a day of
// event time, so that it follows the account as it changes.
type calibration struct {
	bins   [nBins]float64
	total  float64
	maxRaw float64
	day    int64
}

func bin(raw float64) int {
	return min(nBins-1, max(0, int(raw/binWidth)))
}

// score is -log10 of the (smoothed) share of recent events scoring at
// least raw; beyond the highest score seen, the excess raw score is added,
// so that the scale does not stop at the history's length.
func (c *calibration) score(raw float64) float64 {
	if c.total == 0 {
		return 0
	}
	var ge float64
	for i := bin(raw); i < nBins; i++ {
		ge += c.bins[i]
	}
	s := -math.Log10((ge + 1) / (c.total + 1))
	if raw > c.maxRaw {
		s += raw - c.maxRaw
	}
	return s
}

func (c *calibration) add(raw float64, t int64) {
	day := t / 86400
	if c.day == 0 {
		c.day = day
	}
	for ; c.day < day; c.day++ {
		for i := range c.bins {
			c.bins[i] *= 0.9
		}
		c.total *= 0.9
		c.maxRaw *= 0.99
	}
	c.bins[bin(raw)]++
	c.total++
	c.maxRaw = max(c.maxRaw, raw)
}
