#pragma once

#include "reply.h"
#include "request.h"

#include <QList>

#include <functional>

class QObject;

namespace kvdesk {

class AdminController;
class Authenticator;
class KvController;
class PublicController;
struct EndpointPaths;

// Maps a request's raw path to its endpoint group, runs authentication in front of the kv and
// admin groups, calls the controller, and turns every error into an answer.
class Router final
{
public:
    using Done = std::function<void(Reply)>;

    Router(const EndpointPaths &paths, Authenticator &authenticator, KvController &kv, AdminController &admin,
           PublicController &publicController);

    // Calls done exactly once, now or later on context's thread.
    void handle(Request &&request, QObject *context, Done done);

private:
    enum class Group { Kv, Admin, Public };
    struct Mount
    {
        QByteArray prefix; // "" for the root
        Group group;
    };

    void dispatch(const Request &request, Group group, QByteArrayView rest, const Done &done);
    Reply unauthorized() const;

    Authenticator &m_authenticator;
    KvController &m_kv;
    AdminController &m_admin;
    PublicController &m_public;
    QList<Mount> m_mounts; // longest prefix first
};

} // namespace kvdesk
