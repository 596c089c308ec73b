from django.dispatch import Signal

# Sent before a connection is deleted so sync can remove the webhooks its configs registered.
connection_deleting = Signal()
