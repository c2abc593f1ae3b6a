#pragma once

#include "httpframer.h"

#include <QString>

#include <chrono>

namespace kvdesk {

struct AuthMemo;

inline qint64 steadyNowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// A complete request as the router sees it: the head the guard framed, and the body.
struct Request
{
    RequestHead head;
    QByteArray body;
    QString client;
    qint64 startedNs = 0;
    // The connection's memory of the credentials it was let in with; set while the connection
    // is known to live (from the start of the router's handling to its check), else null.
    AuthMemo *authMemo = nullptr;

    QByteArray path() const // raw, still percent-encoded
    {
        const qsizetype q = head.target.indexOf('?');
        return q < 0 ? head.target : head.target.left(q);
    }
    QByteArray query() const
    {
        const qsizetype q = head.target.indexOf('?');
        return q < 0 ? QByteArray() : head.target.mid(q + 1);
    }
    QByteArrayView header(QByteArrayView lowerCaseName) const { return head.header(lowerCaseName); }
    bool isHead() const { return head.method == "HEAD"; }
};

} // namespace kvdesk
