"""Resources: ``mint.worlds``, ``mint.models``, ``mint.account``, and their raw-response views.

Each resource method is one line of driving: apply the call's options to its runner, build the
call's flow (``_calls``), run it. Resources know the runner (``_runner``) and nothing of the client.
"""
