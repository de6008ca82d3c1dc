"""Mini-program logins: one adapter per provider (WeChat, Alipay, Douyin, Kuaishou), each taking its base URL
from settings (a local fake in dev). Complaint channels (where a complaint comes from) are `shared/channels/`."""
