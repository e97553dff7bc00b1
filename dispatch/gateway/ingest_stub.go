package gateway

import "net/http"

type ingester struct{}

func newIngester(g *Gateway) (*ingester, error) { return &ingester{}, nil }

func (g *Gateway) serveIngest(w http.ResponseWriter, r *http.Request, req *request) {
	http.Error(w, "not yet", 503)
}
