package demo

import (
	"bytes"
	"net"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// place is where the invented organization's addresses are, as a
// geolocation database would say.
type place struct {
	cidrs    []string
	country  string
	city     string
	lat, lon float64
	asn      uint32
	org      string
}

var places = []place{
	{[]string{"203.0.113.0/24"}, "GB", "London", 51.5074, -0.1278, 64500, "Acme Ltd London office"},
	{[]string{"198.51.100.0/24"}, "US", "New York", 40.7128, -74.006, 64501, "Acme Inc New York office"},
	{[]string{"54.210.0.0/15", "3.80.0.0/12", "34.224.0.0/12", "52.0.0.0/15", "52.216.0.0/15"}, "US", "Ashburn", 39.0438, -77.4874, 14618, "AMAZON-AES"},
	{[]string{"4.175.0.0/16", "20.57.0.0/16", "172.176.0.0/14"}, "US", "Des Moines", 41.5868, -93.625, 8075, "MICROSOFT-CORP-MSN-AS-BLOCK"},
	{[]string{"45.137.21.0/24"}, "NL", "Amsterdam", 52.3676, 4.9041, 209588, "Flyservers S.A."},
	{[]string{"185.220.101.0/24"}, "DE", "Berlin", 52.52, 13.405, 208294, "Tor exit relays"},
	{[]string{"193.142.147.0/24"}, "RO", "Bucharest", 44.4268, 26.1025, 47890, "Unmanaged Ltd"},
	// The evaluation set's travel and attacks.
	{[]string{"60.32.0.0/16"}, "JP", "Tokyo", 35.6762, 139.6503, 4713, "NTT OCN"},
	{[]string{"89.160.20.0/24"}, "SE", "Linköping", 58.4108, 15.6214, 29518, "Bredband2 AB"},
	{[]string{"41.203.64.0/18"}, "NG", "Lagos", 6.5244, 3.3792, 37148, "Globacom"},
	{[]string{"103.152.220.0/22"}, "SG", "Singapore", 1.3521, 103.8198, 136258, "BrainStorm Network"},
	{[]string{"5.188.206.0/24"}, "RU", "Saint Petersburg", 59.9311, 30.3609, 49505, "Selectel"},
}

// geoDB renders places as a MaxMind DB holding both the City and the ASN
// fields, so that one file serves parapet's --geoip and --asn.
func geoDB() ([]byte, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "Parapet-Demo-City-ASN",
		Description:             map[string]string{"en": "Parapet demo: the invented organization's addresses (not real geolocation)"},
		IncludeReservedNetworks: true,
		RecordSize:              28,
		BuildEpoch:              1793491200, // 2026-11-01: the same bytes every time
	})
	if err != nil {
		return nil, err
	}
	for _, p := range places {
		rec := mmdbtype.Map{
			"country":                        mmdbtype.Map{"iso_code": mmdbtype.String(p.country)},
			"city":                           mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.city)}},
			"location":                       mmdbtype.Map{"latitude": mmdbtype.Float64(p.lat), "longitude": mmdbtype.Float64(p.lon), "accuracy_radius": mmdbtype.Uint16(20)},
			"autonomous_system_number":       mmdbtype.Uint32(p.asn),
			"autonomous_system_organization": mmdbtype.String(p.org),
		}
		for _, c := range p.cidrs {
			_, n, err := net.ParseCIDR(c)
			if err != nil {
				return nil, err
			}
			if err := tree.Insert(n, rec); err != nil {
				return nil, err
			}
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
