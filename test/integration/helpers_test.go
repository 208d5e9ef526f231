package integration

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func annotationIs(ctx context.Context, client kubernetes.Interface, namespace, name, key, want string) error {
	svc, err := client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if got := svc.Annotations[key]; got != want {
		return fmt.Errorf("annotation %s = %q, want %q", key, got, want)
	}
	return nil
}

func gone(ctx context.Context, client kubernetes.Interface, namespace, name string) error {
	_, err := client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("still there (err %v)", err)
}
