package cli

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/detect"
)

// newRulesCoverage: which ATT&CK IaaS techniques the rules detect, per
// cloud, and the gaps.
func newRulesCoverage(io IO) *cobra.Command {
	var format string
	var noBuiltin bool
	cmd := &cobra.Command{
		Use:   "coverage [DIR...]",
		Short: "Show ATT&CK technique coverage per cloud: rules per technique of the IaaS matrix, and the gaps",
		Long: `Map every rule's ATT&CK tags (the builtin pack and the DIRs given) onto the techniques of the ATT&CK
IaaS matrix (v18.1, embedded): a sub-technique's rule covers its parent too. --format table (default)
prints one row per technique with its rules per cloud; json the same as data; navigator writes an
ATT&CK Navigator layer (score = number of rules).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rules, _, err := loadRules(io, args, noBuiltin)
			if err != nil {
				return err
			}
			data, err := fs.ReadFile(content.FS, "attack/attack-iaas.json")
			if err != nil {
				return err
			}
			techs, err := detect.LoadTechniques(data)
			if err != nil {
				return err
			}
			cov := detect.MeasureCoverage(rules, techs)
			switch format {
			case "json":
				return json.NewEncoder(io.Out).Encode(cov)
			case "navigator":
				enc := json.NewEncoder(io.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(cov.Navigator("Parapet rule coverage"))
			case "table":
			default:
				return usagef("--format: want table, json or navigator")
			}
			w := tabwriter.NewWriter(io.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "TACTIC\tTECHNIQUE\tNAME\t%s\n", strings.ToUpper(strings.Join(cov.Clouds, "\t")))
			for _, r := range cov.Rows {
				tactic := ""
				if len(r.Technique.Tactics) > 0 {
					tactic = r.Technique.Tactics[0]
				}
				name := r.Technique.Name
				if r.Technique.Parent != "" {
					name = "  " + name
				}
				var cells []string
				for _, c := range cov.Clouds {
					if n := len(r.Rules[c]); n > 0 {
						cells = append(cells, fmt.Sprint(n))
					} else {
						cells = append(cells, "-")
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", tactic, r.Technique.ID, name, strings.Join(cells, "\t"))
			}
			w.Flush()
			var sums []string
			for _, c := range cov.Clouds {
				sums = append(sums, fmt.Sprintf("%s %d", c, cov.Covered(c)))
			}
			fmt.Fprintf(io.Out, "techniques covered: %d of %d (%s)\n", cov.Covered(""), len(cov.Rows), strings.Join(sums, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or navigator (an ATT&CK Navigator layer)")
	cmd.Flags().BoolVar(&noBuiltin, "no-builtin", false, "only the DIRs given")
	return cmd
}
