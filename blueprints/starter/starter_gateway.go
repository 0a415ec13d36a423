package starter

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints"
)

// StarterModuleDir is the module folder the starter blueprint calls: the
// engine options and gateway the cloud audition shares with the GB300.
const StarterModuleDir = "collective"

// StarterDomain is the starter blueprint's default domain, which init's
// self-signed certificate is for.
const StarterDomain = "sovereign.example.org"

// The service module's note on its secrets: the repository's are published
// examples, init's are generated for the appliance.
const (
	exampleSecretsNote = "# The secrets under gateway/ are EXAMPLES published with sovereign so that\n# the reference blueprints build offline; `sovereign init` writes fresh ones.\n"
	initSecretsNote    = "# sovereign init generated the secrets under gateway/ for this appliance:\n# keep them 0600. oidc-client.secret is a placeholder until your identity\n# provider issues the client secret; the certificate is self-signed.\n"
)

// StarterFile is a file sovereign init writes beside the starter blueprint.
type StarterFile struct {
	Path   string // slash-separated, relative to the blueprint's folder
	Data   []byte
	Secret bool // written 0600
}

// StarterGatewayFiles are the files the starter's gateway block reads, with
// fresh secrets from rand: the repository's copies are published examples
// that must never guard a real appliance. The certificate is self-signed
// for domain (valid from now for a year) until a real one replaces it; the
// OIDC client secret is a placeholder, because only the identity provider
// can issue it.
func StarterGatewayFiles(rand io.Reader, domain string, now time.Time) ([]StarterFile, error) {
	cookie := make([]byte, 32)
	if _, err := io.ReadFull(rand, cookie); err != nil {
		return nil, fmt.Errorf("generating the cookie secret: %w", err)
	}
	files := []StarterFile{
		{Path: StarterModuleDir + "/service.hcl", Data: bytes.Replace(blueprints.CollectiveService(), []byte(exampleSecretsNote), []byte(initSecretsNote), 1)},
		{Path: "gateway/members.hcl", Data: blueprints.CollectiveMembers()},
		{Path: "gateway/cookie.secret", Data: []byte(base64.RawURLEncoding.EncodeToString(cookie)), Secret: true},
		{Path: "gateway/oidc-client.secret", Data: []byte("REPLACE-with-the-client-secret-your-identity-provider-issued\n"), Secret: true},
	}
	for _, member := range []string{"alice", "bob"} {
		k, err := NewAPIKey(rand)
		if err != nil {
			return nil, err
		}
		files = append(files, StarterFile{Path: "gateway/keys/" + member + ".key", Data: []byte(k + "\n"), Secret: true})
	}
	cert, key, err := selfSigned(rand, domain, now)
	if err != nil {
		return nil, err
	}
	files = append(files,
		StarterFile{Path: "gateway/tls/cert.pem", Data: cert},
		StarterFile{Path: "gateway/tls/key.pem", Data: key, Secret: true},
	)
	// The gateway's files live in the service module the starter calls.
	for i := range files {
		if !strings.HasPrefix(files[i].Path, StarterModuleDir+"/") {
			files[i].Path = StarterModuleDir + "/" + files[i].Path
		}
	}
	return files, nil
}

func selfSigned(rand io.Reader, domain string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the TLS key: %w", err)
	}
	serial := make([]byte, 16)
	if _, err := io.ReadFull(rand, serial); err != nil {
		return nil, nil, fmt.Errorf("generating the certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: domain},
		DNSNames:              []string{domain},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the TLS key: %w", err)
	}
	certPEM = append([]byte("Self-signed by sovereign init: replace it with a certificate for "+domain+" that members' browsers trust.\n"),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// NewAPIKey returns a fresh member API key from rand: "sk-" and 48 hex
// digits (192 random bits), inside the alphabet the gateway accepts
// (letters, digits, '-' and '_'), so it needs no quoting in a header, a
// shell or an environment variable.
func NewAPIKey(rand io.Reader) (string, error) {
	b := make([]byte, 24)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("generating an API key: %w", err)
	}
	return "sk-" + hex.EncodeToString(b), nil
}
