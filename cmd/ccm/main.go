// Command floatlb-ccm is floatlb's external cloud controller manager: the
// upstream service, cloud-node and cloud-node-lifecycle controllers driving
// the floatlb cloud provider.
package main

import (
	"os"

	"github.com/floatlb/floatlb/cmd/ccm/app"
	"k8s.io/component-base/cli"
)

func main() {
	os.Exit(cli.Run(app.NewCommand(nil)))
}
