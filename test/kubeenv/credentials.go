package kubeenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// tokenLifetime is how long tokens from CreateToken stay valid; longer than
// any test, benchmarks included.
const tokenLifetime = 24 * time.Hour

// EnsureServiceAccount creates the namespace and the ServiceAccount in it
// unless they exist. No controller-manager runs, so nothing else creates
// ServiceAccounts (not even "default").
func (e *Env) EnsureServiceAccount(ctx context.Context, namespace, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := e.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating service account %s/%s: %w", namespace, name, err)
	}
	return nil
}

// CreateToken mints a token for an existing ServiceAccount through the
// TokenRequest API, valid for a day for the API server's own audience. The
// API server authenticates it as system:serviceaccount:<namespace>:<name>.
func (e *Env) CreateToken(ctx context.Context, namespace, serviceAccount string) (string, error) {
	seconds := int64(tokenLifetime / time.Second)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	resp, err := e.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, serviceAccount, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for service account %s/%s: %w", namespace, serviceAccount, err)
	}
	return resp.Status.Token, nil
}

// KubeconfigFor writes a kubeconfig that authenticates with token (from
// CreateToken, say) and returns its path, for running a binary such as
// floatlb-ccm with exactly the rights RBAC grants that identity. The same
// token gives the same path.
func (e *Env) KubeconfigFor(token string) (string, error) {
	sum := sha256.Sum256([]byte(token))
	name := "token-" + hex.EncodeToString(sum[:6])
	return e.writeKubeconfig(name+".kubeconfig", name, token)
}

func (e *Env) writeKubeconfig(file, user, token string) (string, error) {
	const cluster = "kubeenv"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: e.URL, CertificateAuthorityData: e.restConfig.CAData}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[cluster] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: user}
	cfg.CurrentContext = cluster
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return "", fmt.Errorf("encoding kubeconfig %s: %w", file, err)
	}
	// Written aside and renamed, so a reader never sees half a file.
	tmp, err := os.CreateTemp(e.Dir, "."+file+"-*")
	if err != nil {
		return "", fmt.Errorf("writing kubeconfig %s: %w", file, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing kubeconfig %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing kubeconfig %s: %w", file, err)
	}
	path := filepath.Join(e.Dir, file)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("writing kubeconfig %s: %w", file, err)
	}
	return path, nil
}
