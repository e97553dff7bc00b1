package gateway

// S3BodiesHeld reports how many notification API bodies are being read,
// so that tests can wait until the bound is reached before probing it.
func (g *Gateway) S3BodiesHeld() int { return len(g.s3Bodies) }
