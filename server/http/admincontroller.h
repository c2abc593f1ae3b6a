#pragma once

#include "reply.h"
#include "request.h"

namespace kvdesk {

class Authenticator;
class Store;
class StoreConnection;
struct Config;

// The admin endpoints: the effective configuration (never a secret), schema migrations, and the
// store's export (streamed) and import (in batches, on this thread's connection).
class AdminController final
{
public:
    AdminController(const Config &config, Store &store, StoreConnection &connection,
                    const Authenticator &authenticator);

    // rest: the raw path after the admin prefix. Throws ApiError.
    Reply handle(const Request &request, QByteArrayView rest);

    QByteArray infoJson() const;

private:
    Reply migrate();
    Reply exportKeys(const Request &request);
    Reply importKeys(const Request &request);

    const Config &m_config;
    Store &m_store;
    StoreConnection &m_connection;
    const Authenticator &m_authenticator;
};

} // namespace kvdesk
