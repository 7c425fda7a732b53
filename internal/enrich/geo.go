package enrich

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/parapet-sec/parapet/internal/event"
)

// Geo locates addresses with MaxMind-format databases: a City or Country
// database (GeoIP2, GeoLite2, DB-IP's compatible files) and an ASN
// database. Either may be absent. Safe for concurrent use.
type Geo struct {
	city, asn *maxminddb.Reader
}

// OpenGeo opens the databases whose paths are not empty.
func OpenGeo(cityPath, asnPath string) (*Geo, error) {
	g := &Geo{}
	var err error
	if cityPath != "" {
		if g.city, err = maxminddb.Open(cityPath); err != nil {
			return nil, fmt.Errorf("%s: %w", cityPath, err)
		}
	}
	if asnPath != "" {
		if g.asn, err = maxminddb.Open(asnPath); err != nil {
			g.Close()
			return nil, fmt.Errorf("%s: %w", asnPath, err)
		}
	}
	return g, nil
}

// Close releases the databases.
func (g *Geo) Close() error {
	if g == nil {
		return nil
	}
	if g.city != nil {
		g.city.Close()
	}
	if g.asn != nil {
		g.asn.Close()
	}
	return nil
}

type cityRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude       *float64 `maxminddb:"latitude"`
		Longitude      *float64 `maxminddb:"longitude"`
		AccuracyRadius uint16   `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// Locate returns what the databases know of a.
func (g *Geo) Locate(a netip.Addr) (event.Geo, bool) {
	var out event.Geo
	found := false
	a = a.Unmap()
	if g.city != nil {
		var r cityRecord
		if res := g.city.Lookup(a); res.Found() && res.Decode(&r) == nil {
			out.Country = r.Country.ISOCode
			out.City = r.City.Names["en"]
			if r.Location.Latitude != nil && r.Location.Longitude != nil {
				out.Lat, out.Lon = float32(*r.Location.Latitude), float32(*r.Location.Longitude)
				out.Located = true
				out.RadiusKm = r.Location.AccuracyRadius
			}
			found = true
		}
	}
	if g.asn != nil {
		var r asnRecord
		if res := g.asn.Lookup(a); res.Found() && res.Decode(&r) == nil {
			out.ASN, out.ASOrg = r.Number, r.Org
			found = true
		}
	}
	return out, found
}

// Enrich locates the source and destination addresses of ev.
func (g *Geo) Enrich(ev *event.Event) {
	if g == nil {
		return
	}
	for _, e := range []*event.Endpoint{&ev.Src, &ev.Dst} {
		if e.IP.IsValid() && public(e.IP) {
			if geo, ok := g.Locate(e.IP); ok {
				e.Geo = geo
			}
		}
	}
}
