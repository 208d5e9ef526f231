package loadbalancer

// Service annotations of floatlb (see docs/annotations.md).
const (
	// AnnotationPool names the pool to take the address from.
	AnnotationPool = "floatlb.io/pool"
	// AnnotationLoadBalancerIPs is a comma list of wanted addresses, one per family.
	AnnotationLoadBalancerIPs = "floatlb.io/load-balancer-ips"
	// AnnotationAllowSharedIP is a key: Services with the same key may share an address.
	AnnotationAllowSharedIP = "floatlb.io/allow-shared-ip"
	// AnnotationAllocatedPool is written by the CCM: the pool the addresses came from.
	AnnotationAllocatedPool = "floatlb.io/allocated-pool"
)

// Event reasons the CCM records.
const (
	ReasonInvalidConfig = "floatlb.io/InvalidConfig"
	ReasonConfigLoaded  = "floatlb.io/ConfigLoaded"
	ReasonConflictingIP = "floatlb.io/ConflictingIP"
)
