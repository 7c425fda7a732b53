package awsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"

	"github.com/parapet-sec/parapet/internal/posture/awsconfig"
	"github.com/parapet-sec/parapet/internal/posture/mapping"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// configTypes are the AWS Config resource types read from the recorder's
// current items in a live scan: every type content/resources maps from
// Config. (The types the hand-written mappers know are read directly.)
func configTypes() []string {
	set, err := mapping.Default()
	if err != nil {
		return nil
	}
	return set.ConfigTypes()
}

// configItems reads, for a region whose recorder is recording, the current
// configuration item of every resource of the mapped types: what the
// account's own AWS Config recorded, not a log record anyone could send.
// Resources also read directly are completed, not duplicated (see
// mergeConfig).
func (in *inventory) configItems(ctx context.Context, cs *configservice.Client, account, region string) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		keys     []cstypes.ResourceKey
		firstErr error
	)
	for _, t := range configTypes() {
		wg.Go(func() {
			in.call(func() {
				var found []cstypes.ResourceKey
				p := configservice.NewListDiscoveredResourcesPaginator(cs, &configservice.ListDiscoveredResourcesInput{ResourceType: cstypes.ResourceType(t)})
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						// A type this region's Config does not know is not
						// an error of the account.
						if c := code(err); c != "ValidationException" && c != "InvalidParameterValueException" && !unsupported(err) {
							mu.Lock()
							if firstErr == nil {
								firstErr = fmt.Errorf("config %s %s: %w", region, t, err)
							}
							mu.Unlock()
						}
						return
					}
					for _, id := range page.ResourceIdentifiers {
						found = append(found, cstypes.ResourceKey{ResourceType: id.ResourceType, ResourceId: id.ResourceId})
					}
				}
				mu.Lock()
				keys = append(keys, found...)
				mu.Unlock()
			})
		})
	}
	wg.Wait()
	if firstErr != nil {
		in.fail(firstErr)
	}
	for start := 0; start < len(keys); start += 100 {
		batch := keys[start:min(start+100, len(keys))]
		in.call(func() {
			for len(batch) > 0 {
				out, err := cs.BatchGetResourceConfig(ctx, &configservice.BatchGetResourceConfigInput{ResourceKeys: batch})
				if err != nil {
					in.fail(fmt.Errorf("config %s: %w", region, err))
					return
				}
				for _, it := range out.BaseConfigurationItems {
					if r := configResource(it, account, region); r != nil {
						in.mu.Lock()
						in.fromConfig = append(in.fromConfig, r)
						in.mu.Unlock()
					}
				}
				// Keys Config could not answer now (throttled) are asked again.
				if len(out.UnprocessedResourceKeys) >= len(batch) {
					in.fail(fmt.Errorf("config %s: %d resources not returned", region, len(out.UnprocessedResourceKeys)))
					return
				}
				batch = out.UnprocessedResourceKeys
			}
		})
	}
}

// configResource maps one item of BatchGetResourceConfig, whose
// configuration and supplementary values are JSON in strings, as a
// configuration item of a snapshot would be.
func configResource(it cstypes.BaseConfigurationItem, account, region string) *resource.Resource {
	switch it.ConfigurationItemStatus {
	case cstypes.ConfigurationItemStatusResourceDeleted, cstypes.ConfigurationItemStatusResourceDeletedNotRecorded:
		return nil
	}
	m := map[string]any{
		"resourceType": string(it.ResourceType),
		"resourceId":   aws.ToString(it.ResourceId),
		"resourceName": aws.ToString(it.ResourceName),
		"arn":          aws.ToString(it.Arn),
		"awsAccountId": account,
		"awsRegion":    region,
	}
	if a := aws.ToString(it.AccountId); a != "" {
		m["awsAccountId"] = a
	}
	if r := aws.ToString(it.AwsRegion); r != "" {
		m["awsRegion"] = r
	}
	var cfg any
	if s := aws.ToString(it.Configuration); s != "" && json.Unmarshal([]byte(s), &cfg) == nil {
		m["configuration"] = cfg
	} else {
		m["configuration"] = map[string]any{}
	}
	sup := map[string]any{}
	for k, v := range it.SupplementaryConfiguration {
		var x any
		if json.Unmarshal([]byte(v), &x) == nil {
			sup[k] = x
		} else {
			sup[k] = v
		}
	}
	m["supplementaryConfiguration"] = sup
	r := awsconfig.Model(m)
	if r == nil {
		return nil
	}
	// Read live, from the account's recorder.
	r.Source = "aws"
	return r
}

// mergeConfig adds the resources read from Config to those read directly:
// a resource read both ways (same type and ARN) keeps what was read
// directly and takes from Config only the attributes it lacks or could not
// tell; the others are added.
func mergeConfig(direct, fromConfig []*resource.Resource) []*resource.Resource {
	type key struct{ typ, arn string }
	byKey := make(map[key]*resource.Resource, len(direct))
	for _, r := range direct {
		if r.ARN != "" {
			byKey[key{r.Type, r.ARN}] = r
		}
	}
	for _, c := range fromConfig {
		d := byKey[key{c.Type, c.ARN}]
		if d == nil || c.ARN == "" {
			direct = append(direct, c)
			if c.ARN != "" {
				byKey[key{c.Type, c.ARN}] = c
			}
			continue
		}
		for k, v := range c.Attrs {
			if old, ok := d.Attrs[k]; !ok || old == resource.Unknown {
				d.Set(k, v, c.Origins[k])
			}
		}
	}
	return direct
}
