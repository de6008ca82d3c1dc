"""Every query intake makes, one module for each part that changes on its own: a complaint's own row
(complaints), its timeline (timeline), the staff queue and lists (queue), its evidence files (evidence), possible
links and repeat checks (links), extension requests and supervision notices (oversight), the scheduler's claims
(due), and the return requests, merchants and idempotency records (returns, merchants, idempotency). Each is built
with a session, takes domain arguments and only flushes; callers use the part they need."""
