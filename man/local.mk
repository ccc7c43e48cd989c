# Manual pages: written in POD, turned into section-1 pages by pod2man.

man_pods = man/vd-img.pod
if GUEST_TOOLS
man_pods += man/vd-ls.pod man/vd-cat.pod
man_pods += man/vd-edit.pod
man_pods += man/vd-inspect.pod
man_pods += man/vd-df.pod
endif
man_MANS += $(man_pods:.pod=.1)
EXTRA_DIST += $(man_pods)
CLEANFILES += $(man_pods:.pod=.1)

POD2MAN_FLAGS = --center="vdtools" --release="$(PACKAGE_NAME)-$(PACKAGE_VERSION)" \
	--section=1 --utf8

man/%.1: man/%.pod
	$(AM_V_GEN)$(MKDIR_P) man && $(POD2MAN) $(POD2MAN_FLAGS) --name="$$(basename $* | tr a-z A-Z)" $< $@.tmp && mv $@.tmp $@
