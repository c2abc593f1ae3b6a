#pragma once

#include "http/accesslog.h"

#include <QAbstractTableModel>

#include <deque>

namespace kvdesk {

// The server's request log for the window: the newest entries, at most `capacity`, oldest first.
class RequestLogModel final : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column {
        TimeColumn,
        ClientColumn,
        MethodColumn,
        PathColumn,
        StatusColumn,
        LatencyColumn,
        ColumnCount
    };
    // The text the window's filter matches: method, path, status and client, as its placeholder
    // says; not the time or the latency, whose digits would match a status ("…:41.404").
    static constexpr int FilterRole = Qt::UserRole + 1;

    explicit RequestLogModel(int capacity = 5000, QObject *parent = nullptr);

    void append(const QList<AccessLogEntry> &entries);
    void clear();
    int capacity() const { return m_capacity; }
    const AccessLogEntry &entry(int row) const { return m_entries[size_t(row)]; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    int m_capacity;
    std::deque<AccessLogEntry> m_entries;
};

} // namespace kvdesk
