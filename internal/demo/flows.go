package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/decode/vpcflow"
)

// flowHeader is the custom (version 5) format the demo VPC logs in; S3
// delivery writes it as the first line of every file.
const flowHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr flow-direction pkt-src-aws-service pkt-dst-aws-service"

const vpcID = "vpc-0acme0000000prod1"

type flow struct {
	t              time.Time
	inst           instance
	dir            string // ingress or egress
	src, dst       string
	sport, dport   int
	proto          int
	packets, bytes int64
	action         string
	srcSvc, dstSvc string
	flags          int
}

// addFlow files one flow record and returns its event id.
func (g *gen) addFlow(f flow, story string) string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	line := strings.Join([]string{
		"5", prodAccount, f.inst.eni, f.src, f.dst, fmt.Sprint(f.sport), fmt.Sprint(f.dport), fmt.Sprint(f.proto),
		fmt.Sprint(f.packets), fmt.Sprint(f.bytes), fmt.Sprint(f.t.Unix()), fmt.Sprint(f.t.Unix() + 60), f.action, "OK",
		vpcID, f.inst.subnet, f.inst.id, fmt.Sprint(f.flags), "IPv4", f.src, f.dst, f.dir, dash(f.srcSvc), dash(f.dstSvc),
	}, " ")
	k := fileKey{account: prodAccount, region: "us-east-1", hour: f.t.Unix() / 3600}
	id := vpcflow.ID(line)
	g.flows[k] = append(g.flows[k], record{t: f.t, id: id, body: []byte(line)})
	if story != "" {
		g.label(Label{EventID: id, Story: story})
	}
	return id
}

var publicFirst = []int{23, 31, 46, 62, 81, 89, 91, 104, 109, 151, 176, 188, 212, 217}

func (g *gen) publicIP() string {
	return fmt.Sprintf("%d.%d.%d.%d", pick(g, publicFirst), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
}

func (g *gen) at(hour time.Time) time.Time {
	return hour.Add(time.Duration(g.rng.IntN(3540)) * time.Second)
}

// backgroundFlows is an hour of ordinary traffic: web clients on 443 and
// their replies, internet scanners rejected on admin ports, the app tier
// talking to its database, S3 and DNS.
func (g *gen) backgroundFlows(hour time.Time) {
	for _, w := range g.instances[:2] {
		for range g.poisson(15) {
			client, port := g.publicIP(), 32768+g.rng.IntN(28000)
			pk := int64(8 + g.rng.IntN(60))
			t := g.at(hour)
			g.addFlow(flow{t: t, inst: w, dir: "ingress", src: client, dst: w.ip, sport: port, dport: 443, proto: 6, packets: pk, bytes: pk * int64(90+g.rng.IntN(400)), action: "ACCEPT", flags: 19}, "")
			if g.rng.IntN(3) == 0 {
				g.addFlow(flow{t: t, inst: w, dir: "egress", src: w.ip, dst: client, sport: 443, dport: port, proto: 6, packets: pk * 2, bytes: pk * int64(900+g.rng.IntN(600)), action: "ACCEPT", flags: 19}, "")
			}
		}
		for range g.poisson(3) {
			g.addFlow(flow{t: g.at(hour), inst: w, dir: "ingress", src: g.publicIP(), dst: w.ip, sport: 40000 + g.rng.IntN(20000), dport: pick(g, []int{22, 23, 445, 3389, 5900}), proto: 6, packets: 1, bytes: 44, action: "REJECT", flags: 2}, "")
		}
	}
	for _, a := range g.instances[2:] {
		for range g.poisson(4) {
			pk := int64(20 + g.rng.IntN(200))
			g.addFlow(flow{t: g.at(hour), inst: a, dir: "egress", src: a.ip, dst: "10.20.3.50", sport: 40000 + g.rng.IntN(20000), dport: 5432, proto: 6, packets: pk, bytes: pk * 300, action: "ACCEPT", flags: 19}, "")
		}
		for range g.poisson(3) {
			pk := int64(10 + g.rng.IntN(100))
			g.addFlow(flow{t: g.at(hour), inst: a, dir: "egress", src: a.ip, dst: fmt.Sprintf("52.216.%d.%d", g.rng.IntN(256), 1+g.rng.IntN(254)), sport: 40000 + g.rng.IntN(20000), dport: 443, proto: 6, packets: pk, bytes: pk * 1200, action: "ACCEPT", dstSvc: "S3", flags: 19}, "")
		}
		for range g.poisson(2) {
			g.addFlow(flow{t: g.at(hour), inst: a, dir: "egress", src: a.ip, dst: "10.20.0.2", sport: 30000 + g.rng.IntN(30000), dport: 53, proto: 17, packets: 2, bytes: 140, action: "ACCEPT"}, "")
		}
	}
}
