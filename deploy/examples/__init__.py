"""Examples: a protected site that admits only visitors released by the
waiting room (``protected_site``), and the queue set-up it expects
(``demo_queue``)."""
