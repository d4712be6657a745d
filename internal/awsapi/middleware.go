package awsapi

import (
	"context"
	"fmt"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vipd/vipd/internal/fence"
)

// TokenUserAgentKey is the User-Agent product under which the fencing token
// travels: "vipd-token/<N>". vpcsim parses it into its call log; on AWS it
// shows in CloudTrail's userAgent field.
const TokenUserAgentKey = "vipd-token"

// CallObserver is told about every AWS call once it has finished, retries
// included. service and op are the SDK's names ("EC2", "ReplaceRoute").
type CallObserver func(service, op string, d time.Duration, err error)

// tokenUserAgent appends the token carried by the request context to the
// User-Agent. It runs after the SDK's own User-Agent middleware in the Build
// step; SigV4 does not sign User-Agent, so retries stay valid.
var tokenUserAgent = middleware.BuildMiddlewareFunc("vipdTokenUserAgent",
	func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		if t, ok := fence.FromContext(ctx); ok {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				ua := req.Header.Get("User-Agent")
				req.Header.Set("User-Agent", ua+" "+TokenUserAgentKey+"/"+t.String())
			}
		}
		return next.HandleBuild(ctx, in)
	})

// observe reports each operation's outcome to obs. It sits at the start of
// the Initialize step so that it measures the whole call, retries included.
func observe(obs CallObserver) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("vipdObserve",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				start := time.Now()
				out, md, err := next.HandleInitialize(ctx, in)
				obs(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), time.Since(start), err)
				return out, md, err
			}), middleware.Before)
	}
}

func addTokenUserAgent(stack *middleware.Stack) error {
	return stack.Build.Add(tokenUserAgent, middleware.After)
}

// fenceAttempt refuses to send an attempt of a fenced call (one whose
// context carries a token) unless the grant stays valid for longer than the
// token's margin: AWS may apply a request it received at any time until it
// answers, so the send is what a stale grant must not do, the first and
// every retry alike. It sits in the Finalize step after the SDK's retry
// middleware, so it runs once per attempt; its error (wrapping
// fence.ErrStale) is not retried.
var fenceAttempt = middleware.FinalizeMiddlewareFunc("vipdFenceAttempt",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if t, ok := fence.FromContext(ctx); ok {
			if err := t.Check(t.Margin()); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("send %s: %w", awsmiddleware.GetOperationName(ctx), err)
			}
		}
		return next.HandleFinalize(ctx, in)
	})

func addFenceAttempt(stack *middleware.Stack) error {
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(fenceAttempt, "Retry", middleware.After)
	}
	return stack.Finalize.Add(fenceAttempt, middleware.After)
}
