package metrics

import (
	"encoding/json"
	"path"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// TestDashboardsAreConsistent reads the provisioned files back as Grafana
// would: every dashboard file parses as JSON, its uid is its file's name and
// unique, every panel and query names the data source the provisioning file
// declares, panel ids are unique within a dashboard and panels stay inside
// the 24-column grid. With a gateway, the members' dashboard is among them.
func TestDashboardsAreConsistent(t *testing.T) {
	bp := testBlueprint()
	bp.Gateway = &spec.Gateway{}
	bp.Metrics.CountsUsage = true
	bp.Metrics.Images.Mtail = spec.Image{Ref: "m"}
	tree, _ := compile(t, bp)

	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(file(t, tree, DatasourceConf), &ds); err != nil || len(ds.Datasources) != 1 {
		t.Fatalf("data source provisioning: %v, %+v", err, ds)
	}
	provisioned := ds.Datasources[0]
	uids := map[string]bool{}
	for _, f := range tree.Files {
		if path.Dir(f.Path) != DashboardsDir {
			continue
		}
		var d Dashboard
		if err := json.Unmarshal(f.Contents, &d); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if d.UID+".json" != path.Base(f.Path) || uids[d.UID] {
			t.Errorf("%s: uid %q is not its file's name, or not unique", f.Path, d.UID)
		}
		uids[d.UID] = true
		ids := map[int]bool{}
		for _, p := range d.Panels {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", d.UID, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: panel %q outside the grid: %+v", d.UID, p.Title, p.GridPos)
			}
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != provisioned.UID || p.Datasource.Type != provisioned.Type || len(p.Targets) == 0 {
				t.Errorf("%s: panel %q: data source %+v, %d queries; want %+v", d.UID, p.Title, p.Datasource, len(p.Targets), provisioned)
			}
			for _, q := range p.Targets {
				if q.Datasource == nil || q.Datasource.UID != provisioned.UID || strings.TrimSpace(q.Expr) == "" {
					t.Errorf("%s: panel %q query %s: data source %+v, expr %q", d.UID, p.Title, q.RefID, q.Datasource, q.Expr)
				}
			}
		}
	}
	for _, want := range []string{"sovereign-appliance", "sovereign-engines", "sovereign-members"} {
		if !uids[want] {
			t.Errorf("no dashboard %s among %v", want, uids)
		}
	}
}
