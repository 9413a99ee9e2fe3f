"""LocalStack service plugin that serves the ELBv2 (elasticloadbalancingv2) API from moto.

Why this exists: LocalStack community ships moto (which has a working elbv2 backend) but does not
register an ELBv2 provider, so requests for it are answered with "service not included". LocalStack
looks providers up in the entry-point group ``localstack.aws.provider`` under ``<api>:<name>``;
registering ``elbv2:default`` (see pyproject.toml) is enough to make ``SERVICES=elbv2`` work.

How: a Service is a Skeleton (request parsing + response serialisation, driven by botocore's
service model) plus a dispatch table ``operation name -> handler``. LocalStack's own thin providers
(ec2, route53, sts, ...) use ``MotoFallbackDispatcher``, which only forwards operations the provider
*declares* and that raise NotImplementedError. We have no typed provider class for elbv2 (LocalStack
does not generate ``localstack.aws.api.elbv2``), so we build the table ourselves from the botocore
model: every operation goes straight to ``call_moto``.
"""

from localstack.services.plugins import Service, aws_provider


class Elbv2Provider:
    """Marker object: ``Service.for_provider`` only needs ``.service`` (the botocore service name)."""

    service = "elbv2"


def _moto_dispatch_table(provider: Elbv2Provider) -> dict:
    # Imported lazily: LocalStack loads plugin *specs* at startup but only calls this factory when
    # the service is first used (or at startup with EAGER_SERVICE_LOADING=1).
    from localstack.aws.spec import load_service
    from localstack.services.moto import call_moto

    def forward_to_moto(context, request):
        # call_moto re-dispatches the original HTTP request to moto in-process and returns the
        # parsed response; moto's errors come back as ServiceExceptions with AWS error codes.
        return call_moto(context)

    return {op: forward_to_moto for op in load_service(provider.service).operation_names}


@aws_provider(api="elbv2")
def elbv2() -> Service:
    return Service.for_provider(Elbv2Provider(), dispatch_table_factory=_moto_dispatch_table)
