package tests

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// testIssuer is a minimal OpenID Connect provider for the gateway's
// end-to-end test: discovery, an authorization endpoint that signs in
// whoever the test chose without a login form, a token endpoint issuing
// RS256 ID tokens, and the JWKS to verify them. dex cannot be built from the
// Go module proxy, and oauth2-proxy needs a real issuer at start (discovery)
// and at every sign-in, so the test runs this one on 127.0.0.1.
type testIssuer struct {
	URL          string
	ClientID     string
	ClientSecret string

	key *rsa.PrivateKey
	srv *httptest.Server

	mu     sync.Mutex
	email  string            // who signs in next
	codes  map[string]string // code → nonce
	emails map[string]string // code → email
}

func newTestIssuer(t *testing.T, clientID, clientSecret string) *testIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{ClientID: clientID, ClientSecret: clientSecret, key: key, codes: map[string]string{}, emails: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /authorize", is.authorize)
	mux.HandleFunc("POST /token", is.token)
	mux.HandleFunc("GET /jwks", is.jwks)
	mux.HandleFunc("GET /userinfo", is.userinfo)
	is.srv = httptest.NewServer(mux) // 127.0.0.1, a free port
	is.URL = is.srv.URL
	t.Cleanup(is.srv.Close)
	return is
}

// SignInAs sets the address the next authorization signs in.
func (is *testIssuer) SignInAs(email string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.email = email
}

func issuerJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (is *testIssuer) discovery(w http.ResponseWriter, r *http.Request) {
	issuerJSON(w, 200, map[string]any{
		"issuer":                                is.URL,
		"authorization_endpoint":                is.URL + "/authorize",
		"token_endpoint":                        is.URL + "/token",
		"jwks_uri":                              is.URL + "/jwks",
		"userinfo_endpoint":                     is.URL + "/userinfo",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"claims_supported":                      []string{"sub", "email", "email_verified"},
	})
}

func (is *testIssuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != is.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "https" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	code := issuerRandom()
	is.mu.Lock()
	is.codes[code] = q.Get("nonce")
	is.emails[code] = is.email
	is.mu.Unlock()
	v := redirect.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (is *testIssuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != is.ClientID || secret != is.ClientSecret {
		issuerJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	code := r.PostForm.Get("code")
	is.mu.Lock()
	nonce, known := is.codes[code]
	email := is.emails[code]
	delete(is.codes, code)
	is.mu.Unlock()
	if !known || r.PostForm.Get("grant_type") != "authorization_code" {
		issuerJSON(w, 400, map[string]string{"error": "invalid_grant"})
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": is.URL, "sub": "user-" + email, "aud": is.ClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": email, "email_verified": true, "preferred_username": email,
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	issuerJSON(w, 200, map[string]any{
		"access_token": issuerRandom(),
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     is.sign(claims),
	})
}

func (is *testIssuer) jwks(w http.ResponseWriter, r *http.Request) {
	pub := is.key.PublicKey
	issuerJSON(w, 200, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "test",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (is *testIssuer) userinfo(w http.ResponseWriter, r *http.Request) {
	is.mu.Lock()
	email := is.email
	is.mu.Unlock()
	issuerJSON(w, 200, map[string]any{"sub": "user-" + email, "email": email, "email_verified": true})
}

// sign makes a compact RS256 JWS of claims.
func (is *testIssuer) sign(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "RS256", "kid": "test", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, is.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func issuerRandom() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
