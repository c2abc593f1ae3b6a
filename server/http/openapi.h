#pragma once

#include <QByteArray>
#include <QString>

namespace kvdesk {

struct EndpointPaths;

// The OpenAPI 3 document of this server, with paths under the configured base path and prefixes.
class OpenApi final
{
public:
    static QByteArray document(const EndpointPaths &paths, const QString &serverUrl);
};

} // namespace kvdesk
