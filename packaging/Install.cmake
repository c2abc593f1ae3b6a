# Install rules and the Debian package (make package: CPack's DEB generator). Installed under
# /usr: the binary, the window's module, the desktop entry, AppStream metainfo, icons (SVG and
# PNG in hicolor), the man page, the systemd unit with its settings file, and the docs. The
# translations are built into the binary (server/CMakeLists.txt).
include(GNUInstallDirs)
set(KVDESK_APP_ID io.kvdesk.kvdesk)
set(KVDESK_PACKAGE_MAINTAINER "The KV Desk developers <maintainers@kvdesk.io>"
    CACHE STRING "Maintainer field of the Debian package")
set(pkg ${PROJECT_SOURCE_DIR}/packaging)
set(gen ${PROJECT_BINARY_DIR}/packaging)

install(TARGETS kvdesk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS kvdesk_gui LIBRARY DESTINATION lib/kvdesk) # where kvdesk looks: ../lib/kvdesk

# Desktop integration.
install(FILES ${pkg}/${KVDESK_APP_ID}.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
configure_file(${pkg}/${KVDESK_APP_ID}.metainfo.xml ${gen}/${KVDESK_APP_ID}.metainfo.xml @ONLY)
install(FILES ${gen}/${KVDESK_APP_ID}.metainfo.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/kvdesk.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps RENAME ${KVDESK_APP_ID}.svg)
find_program(RSVG_CONVERT rsvg-convert REQUIRED)
set(icon_pngs "")
foreach(size 16 24 32 48 64 128 256)
  set(png ${gen}/icons/${size}/${KVDESK_APP_ID}.png)
  add_custom_command(OUTPUT ${png}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${gen}/icons/${size}
    COMMAND ${RSVG_CONVERT} -w ${size} -h ${size} -o ${png} ${PROJECT_SOURCE_DIR}/resources/icons/kvdesk.svg
    DEPENDS ${PROJECT_SOURCE_DIR}/resources/icons/kvdesk.svg VERBATIM)
  list(APPEND icon_pngs ${png})
  install(FILES ${png} DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps)
endforeach()

# The man page and the Debian docs, compressed as Debian wants them (gzip -n: reproducible).
configure_file(${pkg}/kvdesk.1 ${gen}/kvdesk.1 @ONLY)
configure_file(${pkg}/changelog ${gen}/changelog @ONLY)
foreach(doc kvdesk.1 changelog)
  add_custom_command(OUTPUT ${gen}/${doc}.gz
    COMMAND gzip -9nc ${gen}/${doc} > ${gen}/${doc}.gz
    DEPENDS ${gen}/${doc} VERBATIM)
endforeach()
add_custom_target(kvdesk_package_files ALL DEPENDS ${icon_pngs} ${gen}/kvdesk.1.gz ${gen}/changelog.gz)
install(FILES ${gen}/kvdesk.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# A native package (no Debian revision): its changelog is changelog.gz.
install(FILES ${gen}/changelog.gz ${pkg}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${pkg}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME kvdesk)

# The headless server as a system service. Debian 12 keeps units in /lib/systemd/system.
install(FILES ${pkg}/kvdesk.service DESTINATION /lib/systemd/system)
install(FILES ${pkg}/kvdesk.default DESTINATION /etc/default RENAME kvdesk
        PERMISSIONS OWNER_READ OWNER_WRITE) # it holds secrets: read by systemd as root

# The package.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kvdesk)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${KVDESK_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${KVDESK_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "JSON key/value server with a REST API, and its desktop admin app")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "KV Desk keeps JSON values under string keys in an SQLite database and serves
them over HTTP with the API of @workertown/kv (Cloudflare Workers KV over
HTTP), so that clients written for it work unchanged.
.
Its window browses, edits and expires the keys while the server runs, shows
the server's live request log, and keeps the server's credentials in the
system keychain. kvdesk --no-gui runs the server alone, and kvdesk.service
runs it as a system service.")
# Libraries from what the binaries link (dpkg-shlibdeps), and what Qt loads at run time.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6sql6-sqlite, qt6-qpa-plugins, libqt6svg6, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qt6-translations-l10n, gnome-keyring | kwalletmanager")
# PostgreSQL databases (--db postgres://...) need Qt's driver.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libqt6sql6-psql")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${pkg}/postinst ${pkg}/prerm ${pkg}/postrm ${gen}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
file(WRITE ${gen}/conffiles "/etc/default/kvdesk\n")
include(CPack)
