// Package vrrp is a native implementation of the Virtual Router Redundancy
// Protocol version 3 (RFC 5798) for IPv4 and IPv6, interoperable with
// keepalived's vrrp_version 3.
package vrrp
