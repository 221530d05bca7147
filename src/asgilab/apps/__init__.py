"""Code that runs inside the server processes the checks start (never in the notebook's kernel):
wrappers that observe a learner's app from the inside and report on its output."""
