// Command vipd-lambda is vipd's agentless controller as an AWS Lambda
// function (provided.al2023 runtime; the binary is the function's
// bootstrap). An EventBridge schedule invokes it at most once a minute, so
// one invocation keeps checking every few seconds for lambda.run-time,
// stops before its deadline and hands over to the next invocation through
// the DynamoDB lease; all state lives in SSM and DynamoDB. It runs the same
// controller code as `vipd controller` (internal/controller).
//
// Configuration, read at every invocation: VIPD_CONFIG holds the
// controller YAML itself, or VIPD_CONFIG_PARAMETER names an SSM parameter
// (String or SecureString) that holds it. See docs/controller.md.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/vipd/vipd/internal/logging"
)

func main() {
	h := &handler{
		getenv: os.Getenv,
		log:    logging.New(os.Stderr, logging.JSON, slog.LevelInfo),
	}
	lambda.Start(h.handle)
}
