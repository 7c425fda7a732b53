package correlate

import (
	"cmp"
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/jsonscan"
)

// The entity graph. Entities are strings with a kind prefix:
//
//	p:ARN        a principal: an IAM user, a role, a role session, a federated user
//	k:ACCT/AKIA… an access key (long-term AKIA, temporary ASIA) of an account
//	ip:ADDR      a public source address
//	i:ACCT/i-…   an EC2 instance (EC2 entities carry their account)
//	eni:ACCT/eni-… a network interface
//	sg:ACCT/sg-… a security group
//	r:ID         any other resource (its ARN, else its name)
//
// The graph learns, from every event (not only those behind findings),
// who created what (an access key, a role session, instances and their
// interfaces, users, roles, buckets), which interface and address belong
// to which instance (RunInstances and CreateNetworkInterface responses,
// flow logs v3+), which instances a security group holds, and how many
// principals use each source address and resource. A finding's entities
// are what it names, what its own call created, and what those resolve to
// through the graph (an interface or address to its instance, a changed
// security group to its instances, a key or session or recently created
// resource to whoever made it); common infrastructure never counts (see
// Hub).
type Graph struct {
	mu sync.Mutex
	// owner: entity → the principal that created or assumed it, and when.
	owner gen[edge]
	// alias: an interface or address → its instance entity, with the time the
	// assignment was seen (an address is valid from then until another
	// instance holds it).
	alias gen[edge]
	// members: security group → its instance entities (at most
	// HubGroupMembers+1 kept).
	members gen[[]string]
	// users: address or resource → the distinct principals seen using it
	// (at most hubCap+1 kept).
	users gen[[]string]
	// Hubs are configured entities (exact, or a prefix ending in *) that
	// never join findings: a shared CI role, a NAT gateway's address.
	Hubs []string
	// Max bounds each map; past it the oldest half is forgotten.
	Max     int
	changed bool
}

// Degrees past which a shared entity is common infrastructure.
const (
	// HubAddressUsers: a public address used by more principals is a
	// NAT, an office or a VPN, not one actor's.
	HubAddressUsers = 3
	// HubResourceUsers: a resource used by more principals is shared.
	HubResourceUsers = 5
	// HubPrincipalAddresses: a principal (a role session, a user's key)
	// calling from more public addresses is shared infrastructure — a CI
	// role whose runners come from a provider's pool, a fleet's service
	// user — not one actor's.
	HubPrincipalAddresses = 10
	// HubGroupMembers: a security group with more instances is shared
	// (a default group).
	HubGroupMembers = 25
	// OwnerWindow: a resource links findings to its creator when it was
	// created within this long of the finding.
	OwnerWindow = 24 * time.Hour
	// MaxEntities bounds a finding's entities.
	MaxEntities = 64
)

type edge struct {
	To string    `json:"to"`
	At time.Time `json:"at"`
}

// gen is a map bounded by generations: writes go to cur; when cur holds
// max entries it becomes old and the previous old is dropped.
type gen[V any] struct {
	cur, old map[string]V
}

func (m *gen[V]) get(k string) (V, bool) {
	if v, ok := m.cur[k]; ok {
		return v, true
	}
	v, ok := m.old[k]
	return v, ok
}

func (m *gen[V]) put(k string, v V, max int) {
	if m.cur == nil {
		m.cur = map[string]V{}
	}
	if _, ok := m.cur[k]; !ok && len(m.cur) >= max {
		m.old, m.cur = m.cur, map[string]V{}
	}
	m.cur[k] = v
}

func (m *gen[V]) len() int { return len(m.cur) + len(m.old) }

// NewGraph makes an empty graph bounded to max entries per map (default
// 50,000: the live half of each map; as much again of older entries is
// kept until the live half fills).
func NewGraph(max int) *Graph {
	if max <= 0 {
		max = 50_000
	}
	return &Graph{Max: max}
}

// Size is how many entries the graph holds.
func (g *Graph) Size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.owner.len() + g.alias.len() + g.members.len() + g.users.len()
}

var instanceID = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

// ActorEntity is the principal entity of an actor, or "" when the actor
// is not a customer principal (an AWS service, a call AWS made on the
// principal's behalf, the account root: common to every story). A role
// session is its own entity (not the role, which its sessions share).
func ActorEntity(a *event.Actor) string {
	switch a.Class() {
	case event.ClassService, event.ClassOnBehalf, event.ClassRoot:
		return ""
	}
	if a.ARN != "" {
		if strings.HasSuffix(a.ARN, ":root") {
			return ""
		}
		return "p:" + a.ARN
	}
	if a.PrincipalID != "" {
		if strings.HasSuffix(a.PrincipalID, ".amazonaws.com") {
			return ""
		}
		return "p:" + a.Account + "/" + a.Type + "/" + a.PrincipalID
	}
	return ""
}

// sessionInstance: EC2 names an instance profile's role sessions after
// the instance.
func sessionInstance(a *event.Actor) string {
	if a.Type == "AssumedRole" && instanceID.MatchString(a.SessionName) {
		return a.SessionName
	}
	if i := strings.LastIndexByte(a.ARN, '/'); i >= 0 && strings.Contains(a.ARN, ":assumed-role/") && instanceID.MatchString(a.ARN[i+1:]) {
		return a.ARN[i+1:]
	}
	return ""
}

// ResourceEntity names a resource as an entity. A resource whose id does
// not say its account (an S3 bucket's ARN, a bare name) is qualified by
// the account whose trail recorded it (account, when the resource does
// not name one): the same name in two accounts is two resources.
func ResourceEntity(r *event.Resource, account string) string {
	id := r.UID
	if id == "" {
		id = r.Name
	}
	if id == "" || r.Type == "AWS::S3::Object" || strings.HasPrefix(id, "arn:aws:s3:::") && strings.Contains(id, "/") {
		return "" // an object: its bucket stands for it
	}
	tail, owner := id, cmp.Or(r.Account, account)
	if strings.HasPrefix(id, "arn:") {
		if parts := strings.SplitN(id, ":", 6); len(parts) == 6 && parts[4] != "" {
			owner = parts[4]
		}
		if strings.HasSuffix(id, ":root") {
			return ""
		}
		if strings.Contains(id, ":iam::") && (strings.Contains(id, ":user/") || strings.Contains(id, ":role/")) ||
			strings.Contains(id, ":assumed-role/") {
			return "p:" + id
		}
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			tail = id[i+1:]
		}
	}
	switch {
	case strings.HasPrefix(tail, "i-") && instanceID.MatchString(tail):
		return qual("i", owner, tail)
	case strings.HasPrefix(tail, "sg-"):
		return qual("sg", owner, tail)
	case strings.HasPrefix(tail, "eni-"):
		return qual("eni", owner, tail)
	}
	if owner != "" && !arnHasAccount(id) {
		return "r:" + owner + "/" + id
	}
	return "r:" + id
}

// qual names an account's EC2 entity (instance, interface, group,
// address): "i:111122223333/i-0abc…".
func qual(kind, account, id string) string {
	if account == "" {
		return kind + ":" + id
	}
	return kind + ":" + account + "/" + id
}

// arnHasAccount: an ARN with its account field set.
func arnHasAccount(id string) bool {
	parts := strings.SplitN(id, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[4] != ""
}

func publicAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.IsGlobalUnicast() || a.IsPrivate() {
		return netip.Addr{}, false
	}
	return a, true
}

// created lists what a call's response says it created, and the instance
// of each interface and address it names (instance → interface pairs) and
// the groups of each instance.
type creation struct {
	made    []string
	aliases [][2]string // from, instance
	groups  [][2]string // instance, group
}

func (c *creation) add(e string) {
	if e != "" && !slices.Contains(c.made, e) {
		c.made = append(c.made, e)
	}
}

// createdBy reads a CloudTrail record's response for what it created.
func createdBy(rec []byte, op string, resources []event.Resource, account string) creation {
	var c creation
	if len(rec) == 0 || rec[0] != '{' {
		return c
	}
	vs, ve, ok := jsonscan.Get(rec, 0, "responseElements")
	if !ok || rec[vs] != '{' {
		vs, ve = 0, 0
	}
	resp := rec[vs:ve]
	str := func(b []byte, path string) string {
		if len(b) == 0 {
			return ""
		}
		return jsonscan.GetString(b, path)
	}
	switch op {
	case "CreateAccessKey":
		if k := str(resp, "accessKey.accessKeyId"); k != "" {
			c.add(qual("k", account, k))
		}
	case "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetFederationToken", "GetSessionToken":
		keyAccount := account // the session's: the role's account
		for _, path := range []string{"assumedRoleUser.arn", "federatedUser.arn"} {
			if a := str(resp, path); a != "" {
				c.add("p:" + a)
				if parts := strings.SplitN(a, ":", 6); len(parts) == 6 && parts[4] != "" {
					keyAccount = parts[4]
				}
			}
		}
		if k := str(resp, "credentials.accessKeyId"); k != "" {
			c.add(qual("k", keyAccount, k))
		}
	case "RunInstances":
		if len(resp) == 0 {
			break
		}
		items(resp, "instancesSet.items", func(s, e int) bool {
			item := resp[s:e]
			id := jsonscan.GetString(item, "instanceId")
			if id == "" {
				return true
			}
			inst := qual("i", account, id)
			c.add(inst)
			if ip := jsonscan.GetString(item, "privateIpAddress"); ip != "" {
				c.aliases = append(c.aliases, [2]string{qual("addr", account, ip), inst})
			}
			if ip := jsonscan.GetString(item, "ipAddress"); ip != "" {
				c.aliases = append(c.aliases, [2]string{qual("addr", account, ip), inst})
			}
			items(item, "networkInterfaceSet.items", func(s, e int) bool {
				ni := item[s:e]
				if eni := jsonscan.GetString(ni, "networkInterfaceId"); eni != "" {
					c.add(qual("eni", account, eni))
					c.aliases = append(c.aliases, [2]string{qual("eni", account, eni), inst})
				}
				items(ni, "privateIpAddressesSet.item", func(s, e int) bool {
					if ip := jsonscan.GetString(ni[s:e], "privateIpAddress"); ip != "" {
						c.aliases = append(c.aliases, [2]string{qual("addr", account, ip), inst})
					}
					return true
				})
				if ip := jsonscan.GetString(ni, "association.publicIp"); ip != "" {
					c.aliases = append(c.aliases, [2]string{qual("addr", account, ip), inst})
				}
				return true
			})
			items(item, "groupSet.items", func(s, e int) bool {
				if sg := jsonscan.GetString(item[s:e], "groupId"); sg != "" {
					c.groups = append(c.groups, [2]string{inst, qual("sg", account, sg)})
				}
				return true
			})
			return true
		})
	case "CreateNetworkInterface":
		if eni := str(resp, "networkInterface.networkInterfaceId"); eni != "" {
			c.add(qual("eni", account, eni))
		}
	default:
		if strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Run") {
			for i := range resources {
				c.add(ResourceEntity(&resources[i], account))
			}
		}
	}
	return c
}

// items calls fn with each element of the array at path (or once with
// the value when it is not an array).
func items(b []byte, path string, fn func(s, e int) bool) {
	vs, ve, ok := jsonscan.Get(b, 0, path)
	if !ok {
		return
	}
	if b[vs] != '[' {
		fn(vs, ve)
		return
	}
	jsonscan.ElementsValid(b, vs, fn)
}

// Observe learns from one event. Safe for concurrent use.
func (g *Graph) Observe(e *event.Event) {
	if e.Network != nil {
		// Flow logs v3+ name the instance of the interface.
		for _, ep := range []*event.Endpoint{&e.Src, &e.Dst} {
			if ep.InstanceID != "" && ep.InterfaceID != "" {
				g.mu.Lock()
				key, inst := qual("eni", e.Cloud.Account, ep.InterfaceID), qual("i", e.Cloud.Account, ep.InstanceID)
				if cur, ok := g.alias.get(key); !ok || cur.To != inst {
					g.alias.put(key, edge{To: inst, At: e.Time}, g.Max)
					g.changed = true
				}
				g.mu.Unlock()
			}
		}
		return
	}
	if e.API.ErrorCode != "" {
		return // a failed call created nothing
	}
	actor := ActorEntity(&e.Actor)
	if actor == "" {
		return
	}
	var c creation
	op := e.API.Operation
	if e.Raw.Format == event.RawJSON && (strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Run") ||
		strings.HasPrefix(op, "Assume") || op == "GetFederationToken" || op == "GetSessionToken") {
		c = createdBy(e.Raw.Data, op, e.Resources, e.Cloud.Account)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if a, ok := publicAddr(ipString(e.Src.IP)); ok {
		ip := "ip:" + a.String()
		g.use(ip, actor, HubResourceUsers)
		g.use(actor, ip, HubPrincipalAddresses)
	}
	for i := range e.Resources {
		if r := ResourceEntity(&e.Resources[i], e.Cloud.Account); strings.HasPrefix(r, "r:") {
			g.use(r, actor, HubResourceUsers)
		}
	}
	for _, m := range c.made {
		if m != actor {
			g.owner.put(m, edge{To: actor, At: e.Time}, g.Max)
			g.changed = true
		}
	}
	for _, a := range c.aliases {
		g.alias.put(a[0], edge{To: a[1], At: e.Time}, g.Max)
	}
	for _, m := range c.groups {
		if ms, _ := g.members.get(m[1]); len(ms) <= HubGroupMembers && !slices.Contains(ms, m[0]) {
			g.members.put(m[1], append(slices.Clip(ms), m[0]), g.Max)
		}
	}
	if len(c.aliases)+len(c.groups) > 0 {
		g.changed = true
	}
}

func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// use counts a neighbour of an entity (a principal among an address's or
// resource's users, an address among a principal's), up to one past its
// hub degree.
func (g *Graph) use(ent, actor string, limit int) {
	us, _ := g.users.get(ent)
	if len(us) > limit || slices.Contains(us, actor) {
		return
	}
	g.users.put(ent, append(slices.Clip(us), actor), g.Max)
	g.changed = true
}

// Hub reports whether an entity is common infrastructure that must not
// join two findings: configured hubs, addresses used by more than
// HubAddressUsers principals, resources by more than HubResourceUsers,
// principals calling from more than HubPrincipalAddresses addresses,
// groups of more than HubGroupMembers instances.
func (g *Graph) Hub(ent string) bool {
	for _, h := range g.Hubs {
		if h == ent || h == strings.SplitN(ent, ":", 2)[1] {
			return true
		}
		if p, ok := strings.CutSuffix(h, "*"); ok && (strings.HasPrefix(ent, p) || strings.HasPrefix(strings.SplitN(ent, ":", 2)[1], p)) {
			return true
		}
	}
	switch {
	case strings.HasPrefix(ent, "ip:"):
		us, _ := g.users.get(ent)
		return len(us) > HubAddressUsers
	case strings.HasPrefix(ent, "r:"):
		us, _ := g.users.get(ent)
		return len(us) > HubResourceUsers
	case strings.HasPrefix(ent, "sg:"):
		ms, _ := g.members.get(ent)
		return len(ms) > HubGroupMembers
	case strings.HasPrefix(ent, "p:"):
		us, _ := g.users.get(ent)
		return len(us) > HubPrincipalAddresses
	}
	return false
}

// Entities lists a finding's entities: what it names, what its call
// created, and what those resolve to through the graph, without hubs. A
// nil graph resolves nothing. Safe for concurrent use.
func (g *Graph) Entities(f *detect.Finding) []string {
	ents, _ := g.Resolve(f)
	return ents
}

// Resolve gives a finding's entities (see Entities) and, of them, what
// its own call created (a key, a role session, instances, a user): a
// later finding that uses one of those continues the story even hours
// later. The record is read once for both.
func (g *Graph) Resolve(f *detect.Finding) (ents, made []string) {
	var out []string
	add := func(e string) {
		if e != "" && len(out) < MaxEntities && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	actor := ActorEntity(&f.Actor)
	add(actor)
	if actor != "" {
		if k := f.Actor.AccessKeyID; k != "" {
			add(qual("k", cmp.Or(f.Actor.Account, f.Cloud.Account), k))
		}
		if i := sessionInstance(&f.Actor); i != "" {
			add(qual("i", cmp.Or(f.Actor.Account, f.Cloud.Account), i))
		}
	}
	if a, ok := publicAddr(f.SrcIP); ok {
		add("ip:" + a.String())
	}
	local := "" // a private source address (egress flows): its instance
	if a, err := netip.ParseAddr(f.SrcIP); err == nil && a.IsPrivate() {
		local = qual("addr", f.Cloud.Account, a.String())
	}
	for i := range f.Resources {
		add(ResourceEntity(&f.Resources[i], f.Cloud.Account))
	}
	named := len(out) // what the finding itself names
	var created creation
	if actor != "" && len(f.Record) > 0 {
		if _, _, failed := jsonscan.Get(f.Record, 0, "errorCode"); !failed {
			created = createdBy(f.Record, eventName(f.Record), f.Resources, f.Cloud.Account)
			for _, m := range created.made {
				add(m)
			}
		}
	}
	if g != nil {
		g.mu.Lock()
		held := func(key string) {
			if a, ok := g.alias.get(key); ok && !a.At.After(f.Time.Add(time.Minute)) {
				add(a.To)
			}
		}
		if local != "" {
			held(local)
		}
		for i := 0; i < len(out); i++ {
			e := out[i]
			if rest, ok := strings.CutPrefix(e, "ip:"); ok {
				held(qual("addr", f.Cloud.Account, rest))
			} else {
				held(e)
			}
			if o, ok := g.owner.get(e); ok {
				// A key or session is its creator's for as long as it
				// lives; a created resource links to its creator while the
				// creation is recent.
				recent := f.Time.Sub(o.At) <= OwnerWindow && o.At.Sub(f.Time) <= OwnerWindow
				session := strings.HasPrefix(e, "k:") || strings.Contains(e, ":assumed-role/") || strings.Contains(e, ":federated-user/")
				if session || recent {
					add(o.To)
				}
			}
			if strings.HasPrefix(e, "sg:") && i < named && !g.Hub(e) {
				// The instances a change to a group exposes. (An
				// instance does not lead to its groups' other instances:
				// sharing a group does not make two instances one story.)
				ms, _ := g.members.get(e)
				for _, i := range ms {
					add(i)
				}
			}
		}
		kept := out[:0]
		for _, e := range out {
			if !g.Hub(e) {
				kept = append(kept, e)
			}
		}
		out = kept
		g.mu.Unlock()
	}
	return out, created.made
}

func eventName(rec []byte) string { return jsonscan.GetString(rec, "eventName") }

// graphState is the graph as persisted: what it learnt, newest first
// within each map's bound.
type graphState struct {
	Owner   map[string]edge     `json:"owner,omitempty"`
	Alias   map[string]edge     `json:"alias,omitempty"`
	Members map[string][]string `json:"members,omitempty"`
	Users   map[string][]string `json:"users,omitempty"`
}

func flat[V any](m gen[V]) map[string]V {
	out := make(map[string]V, m.len())
	for k, v := range m.old {
		out[k] = v
	}
	for k, v := range m.cur {
		out[k] = v
	}
	return out
}

// Changed reports whether the graph learnt something since the last
// Snapshot.
func (g *Graph) Changed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// Snapshot is the graph as JSON, for the store.
func (g *Graph) Snapshot() ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.changed = false
	return json.Marshal(graphState{Owner: flat(g.owner), Alias: flat(g.alias), Members: flat(g.members), Users: flat(g.users)})
}

// Load takes back a Snapshot.
func (g *Graph) Load(b []byte) error {
	var s graphState
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.owner = gen[edge]{cur: s.Owner}
	g.alias = gen[edge]{cur: s.Alias}
	g.members = gen[[]string]{cur: s.Members}
	g.users = gen[[]string]{cur: s.Users}
	return nil
}
