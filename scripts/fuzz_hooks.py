"""schemathesis hooks for scripts/fuzz: who calls, and path parameters that hit the
records scripts/fuzz made. Configured by the environment scripts/fuzz sets:
CREDD_FUZZ_ADMIN_TOKEN, CREDD_FUZZ_WALLET_TOKEN and CREDD_FUZZ_IDS (a JSON object
of path parameter name to id).
"""
import json
import os

import schemathesis
from hypothesis import strategies as st

IDS = json.loads(os.environ["CREDD_FUZZ_IDS"])
WALLET_PATHS = "^/v1/distributedid/wallets/"


def bearer(case, token):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


# The administrator's token everywhere but at the token endpoint (whose client
# authentication schemathesis generates from the document) and the wallet's own routes.
@schemathesis.auth(refresh_interval=None, retry_on=[]).skip_for(path_regex=f"{WALLET_PATHS}|/as/token$")
class AdminToken:
    def get(self, case, ctx):
        return os.environ["CREDD_FUZZ_ADMIN_TOKEN"]

    def set(self, case, data, ctx):
        bearer(case, data)


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path_regex=WALLET_PATHS)
class WalletToken:
    def get(self, case, ctx):
        return os.environ["CREDD_FUZZ_WALLET_TOKEN"]

    def set(self, case, data, ctx):
        bearer(case, data)


def real_id(path, name):
    """The id of a made record for this parameter; `application_id` names two kinds."""
    if name == "application_id" and "/digitalWalletApplications/" in path:
        return IDS["wallet_application_id"]
    return IDS.get(name)


@schemathesis.hook
def before_generate_path_parameters(ctx, strategy):
    """In valid cases each parameter is either generated or the made record's id.
    DELETE keeps to generated ids, so the made records last the whole run."""
    operation = ctx.operation
    if operation.method.upper() == "DELETE":
        return strategy

    def real_or_generated(parameters):
        # Not a plain dict: no path parameters, or a negative case (schemathesis wraps those).
        if not isinstance(parameters, dict):
            return st.just(parameters)
        return st.fixed_dictionaries({
            name: st.sampled_from([real_id(operation.path, name), value])
            if real_id(operation.path, name) else st.just(value)
            for name, value in parameters.items()
        })

    return strategy.flatmap(real_or_generated)


# `{"id"}` references in request bodies, and the made record each may point at.
REFERENCES = {"digitalWalletApplication": "wallet_application_id", "credentialType": "type_id", "policy": "policy_id",
              "application": "native_application_id"}


@schemathesis.hook
def before_generate_body(ctx, strategy):
    """In valid cases each reference in the body either keeps its generated id or
    points at the made record."""

    def real_or_generated(body):
        references = [key for key in REFERENCES if isinstance(body, dict) and isinstance(body.get(key), dict)]
        if not references:
            return st.just(body)
        chosen = st.fixed_dictionaries({
            key: st.sampled_from([{**body[key], "id": IDS[REFERENCES[key]]}, body[key]]) for key in references
        })
        return chosen.map(lambda refs: {**body, **refs})

    return strategy.flatmap(real_or_generated)
