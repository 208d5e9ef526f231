package controlplane

import (
	"bytes"
	"fmt"
	"net"
	"path"
	"strconv"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// DefaultImage is the image the manifest runs unless told otherwise.
const DefaultImage = "ghcr.io/floatlb/floatlb:v0.1.0"

// StaticPod returns the static Pod that runs control-plane mode with opts
// on a node, for /etc/kubernetes/manifests: host network, the
// capabilities its mode needs and no more, and in l2 mode the kubeconfig
// mounted read-only from the host. A static Pod may not refer to other API
// objects, so it has no ServiceAccount token.
func StaticPod(opts Options, image, metricsAddress string) *v1.Pod {
	args := append(opts.Args(), "--metrics-bind-address="+metricsAddress)
	caps := []v1.Capability{"NET_ADMIN", "NET_RAW"} // addresses; raw VRRP, ARP and NDP sockets
	if opts.Mode == ModeBGP {
		caps = []v1.Capability{"NET_ADMIN"} // the VIP on lo; BGP dials out from an unprivileged port
	}
	no, yes := false, true
	root := int64(0)
	c := v1.Container{
		Name:    "announcer",
		Image:   image,
		Command: []string{"/floatlb-announcer"},
		Args:    args,
		Env: []v1.EnvVar{{
			Name:      "NODE_NAME",
			ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
		}},
		Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("10m"), v1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("128Mi")},
		},
		SecurityContext: &v1.SecurityContext{
			// Added capabilities reach uid 0 only (see the Dockerfile).
			RunAsUser:                &root,
			RunAsNonRoot:             &no,
			Privileged:               &no,
			AllowPrivilegeEscalation: &no,
			ReadOnlyRootFilesystem:   &yes,
			Capabilities:             &v1.Capabilities{Drop: []v1.Capability{"ALL"}, Add: caps},
		},
	}
	if port, ok := portOf(metricsAddress); ok {
		c.LivenessProbe = &v1.Probe{
			ProbeHandler:  v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Host: "127.0.0.1", Path: "/healthz", Port: intstr.FromInt32(port)}},
			PeriodSeconds: 10,
		}
	}
	pod := &v1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      "floatlb-control-plane",
			Namespace: "kube-system",
			Labels:    map[string]string{"app.kubernetes.io/name": "floatlb-control-plane", "app.kubernetes.io/part-of": "floatlb"},
		},
		Spec: v1.PodSpec{
			HostNetwork:                  true,
			PriorityClassName:            "system-node-critical",
			AutomountServiceAccountToken: &no,
			// Give the VIP up (priority 0, Lease released, withdrawn) on
			// a graceful stop.
			TerminationGracePeriodSeconds: new(int64(10)),
			SecurityContext:               &v1.PodSecurityContext{SeccompProfile: &v1.SeccompProfile{Type: v1.SeccompProfileTypeRuntimeDefault}},
			Containers:                    []v1.Container{c},
		},
	}
	if opts.Mode == ModeL2 {
		file := v1.HostPathFile
		pod.Spec.Volumes = []v1.Volume{{
			Name:         "kubeconfig",
			VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: opts.Kubeconfig, Type: &file}},
		}}
		pod.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "kubeconfig", MountPath: opts.Kubeconfig, ReadOnly: true}}
	}
	return pod
}

// ManifestYAML renders StaticPod as YAML, with a comment naming where it
// goes.
func ManifestYAML(opts Options, image, metricsAddress string) ([]byte, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Mode == ModeL2 && !path.IsAbs(opts.Kubeconfig) {
		return nil, fmt.Errorf("--kubeconfig %q: give the absolute path on the node, say /etc/kubernetes/admin.conf", opts.Kubeconfig)
	}
	out, err := yaml.Marshal(StaticPod(opts, image, metricsAddress))
	if err != nil {
		return nil, err
	}
	out = bytes.TrimSuffix(out, []byte("status: {}\n"))
	header := "# floatlb control-plane VIP: put this file in /etc/kubernetes/manifests/ on every control-plane node.\n"
	return append([]byte(header), out...), nil
}

// portOf returns the port of a listen address such as ":7476".
func portOf(addr string) (int32, bool) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false
	}
	port, err := strconv.ParseUint(p, 10, 16)
	return int32(port), err == nil && port > 0
}
