package cli

import (
	"github.com/spf13/pflag"

	"github.com/keyadm/keyadm/internal/apikey"
)

// limitFlags are the flags of a key's limits, on create and update.
type limitFlags struct {
	rates, ips   []string
	uses, refill string
}

// none clears a limit on update.
const none = "none"

func (lf *limitFlags) add(fl *pflag.FlagSet, update bool) {
	lf.addRates(fl, update, "")
	fl.StringVar(&lf.uses, "uses", "", "uses left: each successful verify spends one"+clearWords(update, "the limit and its refill"))
	fl.StringVar(&lf.refill, "refill", "", "top the uses up to N every DURATION, as in 100/1d")
	fl.StringArrayVar(&lf.ips, "allow-ip", nil, "client address or CIDR allowed by serve, repeatable (default any)"+clearWords(update, "the list"))
}

// addRates adds --rate-limit alone (a user's, whose is given, has no
// other limit).
func (lf *limitFlags) addRates(fl *pflag.FlagSet, update bool, whose string) {
	fl.StringArrayVar(&lf.rates, "rate-limit", nil, "rate limit N/DURATION, as in 100/1m, enforced by serve"+whose+"; repeatable for several windows"+clearWords(update, "them"))
}

// clearWords tells, on update, how "none" removes a limit.
func clearWords(update bool, what string) string {
	if !update {
		return ""
	}
	return `; "none" removes ` + what
}

// parse turns the flags given into a limits change; update allows "none".
func (lf *limitFlags) parse(flags *pflag.FlagSet, update bool) (apikey.LimitsInput, error) {
	var in apikey.LimitsInput
	var err error
	clears := func(vals []string) bool { return update && len(vals) == 1 && vals[0] == none }
	if flags.Changed("rate-limit") {
		if in.ClearRateLimits = clears(lf.rates); !in.ClearRateLimits {
			if in.RateLimits, err = apikey.ParseRates("rateLimits", lf.rates); err != nil {
				return in, err
			}
		}
	}
	if flags.Changed("uses") {
		if in.ClearUses = clears([]string{lf.uses}); !in.ClearUses {
			n, err := apikey.ParseUses(lf.uses)
			if err != nil {
				return in, err
			}
			in.Uses = &n
		}
	}
	if flags.Changed("refill") {
		r, err := apikey.ParseRate("refill", lf.refill)
		if err != nil {
			return in, err
		}
		in.Refill = &r
	}
	if flags.Changed("allow-ip") {
		if in.ClearAllowIPs = clears(lf.ips); !in.ClearAllowIPs {
			if in.AllowIPs, err = apikey.ParseAllowIPs(lf.ips); err != nil {
				return in, err
			}
		}
	}
	return in, nil
}
