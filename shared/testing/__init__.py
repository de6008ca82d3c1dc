"""Test support that ships with the code: local fakes of WeChat and Alipay, used by tests and `make run`."""
