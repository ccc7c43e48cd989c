# The tools: vd-img (native) and, later, the guest tools.  tools/common/
# holds what every tool shares (names, errors, output rendering).

noinst_LTLIBRARIES += tools/common/libcommon.la
tools_common_libcommon_la_SOURCES = \
	tools/common/common.h \
	tools/common/progname.c \
	tools/common/output.c \
	tools/common/render.h \
	tools/common/render.c
tools_common_libcommon_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_common_libcommon_la_LIBADD = $(JANSSON_LIBS)

bin_PROGRAMS += tools/vd-img
tools_vd_img_SOURCES = \
	tools/vd-img.h \
	tools/vd-img.c \
	tools/img-check.c \
	tools/img-create.c \
	tools/img-info.c \
	tools/img-convert.c \
	tools/img-snapshot.c \
	tools/img-chain.h \
	tools/img-chain.c \
	tools/img-map.c \
	tools/img-compare.c \
	tools/img-measure.c \
	tools/img-resize.c \
	tools/img-amend.c \
	tools/img-commit.c \
	tools/img-rebase.c
tools_vd_img_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_vd_img_LDADD = tools/common/libcommon.la lib/libvd.la $(JANSSON_LIBS) \
	$(LTLIBINTL)

# The guest tools (libguestfs): vd-ls, vd-cat.  tools/common/guest*.c is
# their shared option parser and guest opening, on inspect/.
if GUEST_TOOLS
guest_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/inspect \
	-I$(top_srcdir)/inspect/native
guest_cflags = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(GUESTFS_CFLAGS)
guest_ldadd = tools/common/libguest.la tools/common/libcommon.la \
	inspect/native/libnative.la \
	inspect/libinspect.la lib/libvd.la $(GUESTFS_LIBS) $(JANSSON_LIBS) \
	$(LTLIBINTL)

noinst_LTLIBRARIES += tools/common/libguest.la
tools_common_libguest_la_SOURCES = \
	tools/common/guest.h \
	tools/common/guest.c \
	tools/common/guest-options.c \
	tools/common/guest-native.c
tools_common_libguest_la_CPPFLAGS = $(guest_cppflags)
tools_common_libguest_la_CFLAGS = $(guest_cflags)

bin_PROGRAMS += tools/vd-ls tools/vd-cat
tools_vd_ls_SOURCES = tools/vd-ls.c
tools_vd_ls_CPPFLAGS = $(guest_cppflags)
tools_vd_ls_CFLAGS = $(guest_cflags)
tools_vd_ls_LDADD = $(guest_ldadd) -lm
tools_vd_cat_SOURCES = tools/vd-cat.c
tools_vd_cat_CPPFLAGS = $(guest_cppflags)
tools_vd_cat_CFLAGS = $(guest_cflags)
tools_vd_cat_LDADD = $(guest_ldadd)

# vd-inspect: inspection in inspect/os.c, JSON and XML in inspect-render.c.
bin_PROGRAMS += tools/vd-inspect
tools_vd_inspect_SOURCES = tools/vd-inspect.c tools/inspect-render.h \
	tools/inspect-render.c
tools_vd_inspect_CPPFLAGS = $(guest_cppflags)
tools_vd_inspect_CFLAGS = $(guest_cflags) $(LIBXML2_CFLAGS)
tools_vd_inspect_LDADD = $(guest_ldadd) $(LIBXML2_LIBS)
endif

# vd-edit: edit files in a guest (tools/edit-expr.c: its -e language).
if GUEST_TOOLS
bin_PROGRAMS += tools/vd-edit
tools_vd_edit_SOURCES = tools/vd-edit.c tools/edit-expr.c tools/edit-expr.h
tools_vd_edit_CPPFLAGS = $(guest_cppflags)
tools_vd_edit_CFLAGS = $(guest_cflags)
tools_vd_edit_LDADD = $(guest_ldadd)
# vd-df: df-output.c and df-names.c need no appliance (unit-tested alone).
bin_PROGRAMS += tools/vd-df
tools_vd_df_SOURCES = tools/vd-df.c tools/df.h tools/df-work.c \
	tools/df-output.c tools/df-names.c
tools_vd_df_CPPFLAGS = $(guest_cppflags)
tools_vd_df_CFLAGS = $(guest_cflags) -pthread
tools_vd_df_LDFLAGS = -pthread
tools_vd_df_LDADD = $(guest_ldadd) -lm
endif

# bench/df.sh: vd-df against virt-df (run by hand).
EXTRA_DIST += bench/df.sh
