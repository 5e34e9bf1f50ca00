from libs.settings import TELEMETRY_OPT_OUT, disable_telemetry


def test_disable_telemetry_sets_every_opt_out_variable() -> None:
    environ = {"DVC_NO_ANALYTICS": "0", "UNRELATED": "kept"}
    disable_telemetry(environ)
    assert environ == {**TELEMETRY_OPT_OUT, "UNRELATED": "kept"}
    assert set(TELEMETRY_OPT_OUT) == {
        "DO_NOT_TRACK",
        "MLFLOW_DISABLE_TELEMETRY",
        "BENTOML_DO_NOT_TRACK",
        "DVC_NO_ANALYTICS",
    }
