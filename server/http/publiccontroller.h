#pragma once

#include "reply.h"
#include "request.h"

namespace kvdesk {

struct EndpointPaths;

// The public endpoints, served without authentication: health and the OpenAPI document.
class PublicController final
{
public:
    explicit PublicController(const EndpointPaths &paths);

    // Whether rest (the raw path after the public prefix) names a public endpoint.
    static bool serves(QByteArrayView rest);
    Reply handle(const Request &request, QByteArrayView rest);

private:
    const EndpointPaths &m_paths;
};

} // namespace kvdesk
