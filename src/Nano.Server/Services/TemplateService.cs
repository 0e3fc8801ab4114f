namespace Nano.Server.Services;

/// <summary>
/// Declared so every route of the area answers; not built yet: each RPC answers UNIMPLEMENTED
/// (REST: error_code 501) until the area's own issue lands.
/// </summary>
public sealed class TemplateService : Contracts.V1.TemplateService.TemplateServiceBase;
