from django.urls import path

from events.apis import (
    EventDeliveryListApi,
    EventHookDetailApi,
    EventHookListCreateApi,
    EventRedeliverApi,
)

urlpatterns = [
    path("event-hooks", EventHookListCreateApi.as_view(), name="event-hooks"),
    path("event-hooks/<str:hook_id>", EventHookDetailApi.as_view(), name="event-hook"),
    path("event-hooks/<str:hook_id>/deliveries", EventDeliveryListApi.as_view(),
         name="event-hook-deliveries"),
    path("event-hooks/<str:hook_id>/deliveries/<str:delivery_id>/redeliver",
         EventRedeliverApi.as_view(), name="event-hook-redeliver"),
]
