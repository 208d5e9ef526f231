package announcer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floatlb/floatlb/config"
)

// passwordReadTimeout bounds one read of a peer's password Secret, so that
// a plan does not wait for TCP's timeouts while the API server is away.
const passwordReadTimeout = 5 * time.Second

// passwordMissingError says that a peer's password Secret, or its key, does
// not exist: the API server answered, and there is no password to read.
type passwordMissingError struct{ msg string }

func (e *passwordMissingError) Error() string { return e.msg }

// passwordTrouble is why a peer's password could not be read; the values
// are the reason label of floatlb_bgp_password_unavailable.
type passwordTrouble string

const (
	passwordOK passwordTrouble = ""
	// passwordMissing: the Secret or its key does not exist.
	passwordMissing passwordTrouble = "missing"
	// passwordUnreadable: the API server did not answer, or refused.
	passwordUnreadable passwordTrouble = "unreadable"
)

// peerPassword is what this announcer knows of one peer's password.
type peerPassword struct {
	// password was last read from ref; known is false while no read has
	// succeeded since the announcer started.
	ref      config.SecretKeyRef
	password string
	known    bool
	// trouble is why the last read failed, with the Secret it named.
	trouble    passwordTrouble
	troubleRef config.SecretKeyRef
}

// passwordOf returns the TCP MD5 password of peer p, read from its Secret on
// every plan so that a changed password applies within a resync. When the
// read fails it returns the password read last, so the session and its
// routes stay:
//   - while the API server is away or refuses (unreadable): an outage must
//     never withdraw working routes;
//   - when the Secret or its key is gone (missing): the router holds the
//     password too and decides whether the session lives; tearing it down
//     here would withdraw every route of the node over a deleted Secret. The
//     announcer says so in its log, in a Warning Event on the config and in
//     floatlb_bgp_password_unavailable. To stop using a password, remove
//     passwordSecret from the peer.
//
// ok is false when no read has succeeded since the announcer started: then
// there is no password to use and the session is not started.
//
// away carries, through one plan's peers, the error of a read that found the
// API server away: the later peers do not try (and wait) again, they take
// that error as theirs.
func (b *bgpMode) passwordOf(ctx context.Context, node string, p *config.Peer, away *error) (password string, ok bool, err error) {
	ref := *p.PasswordSecret
	if b.passwords == nil {
		b.passwords = map[string]peerPassword{}
	}
	st := b.passwords[p.Name]
	var pw string
	if *away != nil {
		err = *away
	} else {
		rctx, cancel := context.WithTimeout(ctx, passwordReadTimeout)
		pw, err = b.password(rctx, p.PasswordSecret)
		cancel()
	}
	var missing *passwordMissingError
	if err != nil && !errors.As(err, &missing) {
		*away = err
	}
	if err == nil {
		if st.trouble != passwordOK {
			b.log.Info("The BGP peer's password can be read again", "peer", p.Name, "secret", ref.Name, "key", ref.Key)
			b.metrics.bgpPasswordUnavailable.DeletePartialMatch(prometheus.Labels{"peer": p.Name})
		}
		b.passwords[p.Name] = peerPassword{ref: ref, password: pw, known: true}
		return pw, true, nil
	}

	trouble := passwordUnreadable
	if errors.As(err, &missing) {
		trouble = passwordMissing
	}
	if st.trouble != trouble || st.troubleRef != ref {
		b.troubleBegins(node, p.Name, st, trouble, ref, err)
		st.trouble, st.troubleRef = trouble, ref
		b.passwords[p.Name] = st
	}
	if !st.known {
		return "", false, fmt.Errorf("peer %s: reading its password from Secret %s key %s: %w (the session is not started)", p.Name, ref.Name, ref.Key, err)
	}
	return st.password, true, nil
}

// troubleBegins says, once per change, that a peer's password cannot be
// read, and what the announcer does about it.
func (b *bgpMode) troubleBegins(node, peer string, st peerPassword, trouble passwordTrouble, ref config.SecretKeyRef, err error) {
	b.metrics.bgpPasswordUnavailable.DeletePartialMatch(prometheus.Labels{"peer": peer})
	b.metrics.bgpPasswordUnavailable.WithLabelValues(peer, ref.Name, ref.Key, string(trouble)).Set(1)
	kv := []any{"peer", peer, "secret", ref.Name, "key", ref.Key, "reason", trouble}
	var msg string
	switch {
	case trouble == passwordUnreadable && st.known:
		// The API server is away: say it once, and do nothing else.
		b.log.Info("Cannot read the BGP peer's password; the session keeps the password read last", append(kv, "err", err)...)
		return
	case trouble == passwordUnreadable:
		b.log.Error(err, "Cannot read the BGP peer's password; the session is not started until it can be read", kv...)
		return
	case st.known:
		b.log.Error(err, "The BGP peer's password Secret or key is gone; the session keeps the password read last (remove passwordSecret from the peer to stop using a password)", kv...)
		msg = fmt.Sprintf("%s cannot read the TCP MD5 password of BGP peer %s: %v. It keeps the session with the password it read last; restore the Secret, or remove passwordSecret from the peer to stop using a password.", node, peer, err)
	default:
		b.log.Error(err, "The BGP peer's password Secret or key does not exist; the session is not started until it does", kv...)
		msg = fmt.Sprintf("%s cannot read the TCP MD5 password of BGP peer %s: %v. It does not start the session until the Secret has the key.", node, peer, err)
	}
	if b.warn != nil {
		b.warn("floatlb.io/BGPPasswordMissing", msg)
	}
}

// forgetPasswords drops what is known of the passwords of peers that this
// node no longer has with a passwordSecret.
func (b *bgpMode) forgetPasswords(keep map[string]bool) {
	for name := range b.passwords {
		if !keep[name] {
			delete(b.passwords, name)
			b.metrics.bgpPasswordUnavailable.DeletePartialMatch(prometheus.Labels{"peer": name})
		}
	}
}
