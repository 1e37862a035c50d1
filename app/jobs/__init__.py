"""Background jobs: the queue (:mod:`app.jobs.queue`), the periodic jobs
(:mod:`app.jobs.periodic`) and their schedule (:mod:`app.jobs.schedule`)."""
