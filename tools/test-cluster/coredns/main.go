// Command coredns is CoreDNS with only the plugins sparkop's real-node tier needs: kubernetes
// (cluster.local names from the API server), template (NXDOMAIN for every other name), bind,
// errors and log. No forward plugin is linked, so no query can leave the machine whatever the
// Corefile says.
package main

import (
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/template"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
)

func init() {
	// The directive list decides plugin order; only the linked ones can appear in a Corefile.
	dnsserver.Directives = []string{"bind", "errors", "log", "kubernetes", "template"}
}

func main() { coremain.Run() }
