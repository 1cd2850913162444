package vend

// RemoteSigner is implemented by the vendors that may sign requests
// (signRequest): GET /v1/config advertises that operation only for the
// warehouses whose vendor says so.
type RemoteSigner interface {
	SignsRequests() bool
}

// SignsRequests implements RemoteSigner: S3 profiles sign when remote
// signing is enabled for them.
func (v *s3Vendor) SignsRequests() bool { return v.prof.RemoteSigning }
