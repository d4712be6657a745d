package simcluster

import (
	"os"
	"path/filepath"
)

// Env is the environment of m's vipd process: nothing of the harness's
// own (so a developer's AWS settings never reach it), the AWS SDK pointed
// at the simulator's endpoint, and no credentials files, so that a node
// takes its instance role's credentials from the simulated IMDS at imds,
// as on EC2. A witness makes no AWS call; IMDS is off for it.
func Env(m Member, endpoint, imds string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + m.Dir, "AWS_ENDPOINT_URL=" + endpoint,
		"AWS_CONFIG_FILE=" + filepath.Join(m.Dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(m.Dir, "aws-credentials")}
	if m.Witness {
		return append(env, "AWS_EC2_METADATA_DISABLED=true")
	}
	return append(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+imds)
}
