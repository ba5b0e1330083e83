export const id = 283;
export const ids = [283];
export const modules = {

/***/ 58283:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   postgres: () => (/* binding */ postgres)
/* harmony export */ });
/* harmony import */ var _connection_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(87763);
/* harmony import */ var _database_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(57201);
/* harmony import */ var _drill_catalog_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(98956);
/* harmony import */ var _drill_rewriters_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(84356);
/* harmony import */ var _maintenance_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(97896);
/* harmony import */ var _pg_tools_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(19336);
/* harmony import */ var _sanitize_rules_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(84994);







/** PostgreSQL as an engine: the modules of this folder, behind engines/types.ts. */
const postgres = {
    name: 'PostgreSQL',
    schemes: ['postgres', 'postgresql'],
    parseUrl: _connection_js__WEBPACK_IMPORTED_MODULE_0__/* .parseConnectionUrl */ .zP,
    describe: _connection_js__WEBPACK_IMPORTED_MODULE_0__/* .describe */ .q0,
    openRead: (target, role) => _database_js__WEBPACK_IMPORTED_MODULE_1__/* .DatabaseSession */ .C.open(target, role),
    openMaintenance: target => _maintenance_js__WEBPACK_IMPORTED_MODULE_4__/* .MaintenanceSession */ .m.openMaintenance(target),
    findClientTools: _pg_tools_js__WEBPACK_IMPORTED_MODULE_5__/* .resolveClientTools */ .Fb,
    sanitizerProgram: _sanitize_rules_js__WEBPACK_IMPORTED_MODULE_6__/* .buildSedProgram */ .DS,
    readDrillCatalog: (session, rowCounts) => {
        // The run hands back the session this engine opened: SQL goes through its driver session only.
        if (!(session instanceof _database_js__WEBPACK_IMPORTED_MODULE_1__/* .DatabaseSession */ .C))
            throw new Error('PostgreSQL reads its drill catalog through its own session');
        return (0,_drill_catalog_js__WEBPACK_IMPORTED_MODULE_2__/* .readDrillCatalog */ .FG)(session, rowCounts);
    },
    dropRowRewriter: _drill_rewriters_js__WEBPACK_IMPORTED_MODULE_3__/* .dropRowRewriter */ .EY
};


/***/ })

};
