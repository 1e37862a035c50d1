"""Volunteer service (群众点单、社区派单、党员接单、群众评单): help requests,
tasks, acceptance, attendance, confirmation and the hours ledger.
(Volunteer tasks, not background jobs: those live in app/jobs.)"""
