"""The sandbox's allow-lists: every function user SQL may call, per engine. Data only.

Read by engines/safety.py, which refuses any call not listed here before an engine sees the
query (and checks the engine SQL again after transpilation):

- A typed sqlglot function node (``exp.Sum``, ``exp.DateTrunc``, ...) is allowed when its
  class name is in ``SQLGLOT_FUNCTIONS``: sqlglot writes it as the same pure function in
  every dialect, so one list serves both engines.
- A call sqlglot does not model (``exp.Anonymous``; ClickHouse aggregates with combinators)
  is allowed when its name, ASCII and compared case-insensitively, is in the target
  engine's set. ClickHouse aggregates may carry combinators (``sumIf``, ``uniqMergeState``).
- Table functions: ``*_TABLE_FUNCTIONS`` generate rows from their arguments only;
  ``*_FILE_TABLE_FUNCTIONS`` read files and need literal paths inside a lakehouse tier.
  The router's own scans (read_parquet / file / s3 over planned files) are added after
  the check and never pass through it.

Everything else is refused: a function added by a new engine or sqlglot version stays
refused until someone reads what it does and lists it here. The lists were seeded from
sqlglot 30's function classes, DuckDB 1.5.5's duckdb_functions() and chDB 26.9's
system.functions, then curated; what was left out, and why, is noted per group.
"""

from __future__ import annotations


def _names(text: str) -> frozenset[str]:
    """Whitespace-separated names; a '#' starts a comment (a group heading) to the line end."""
    return frozenset(word for line in text.splitlines() for word in line.split("#")[0].split())


def _lower(text: str) -> frozenset[str]:
    return frozenset(name.lower() for name in _names(text))


# sqlglot function classes that are pure computations on their arguments, by module.
# Left out: the Current* session/environment probes (CURRENT_USER, CURRENT_SCHEMA,
# CURRENT_DATABASE, CURRENT_ROLE, CURRENT_TIMEZONE, SESSION_USER, ...; CURRENT_DATE/TIME/
# TIMESTAMP stay), AI/ML calls (AI_*, PREDICT, ML.*, VECTOR_SEARCH), sequences (NEXT VALUE
# FOR, SEQ1..8), table generators and dynamic names (GENERATOR, GAP_FILL, IDENTIFIER(),
# JSON_TABLE, XMLTABLE, SPLIT_TO_TABLE), file/secret access (TO_FILE, SECRET, READ_CSV,
# READ_PARQUET outside FROM) and the generic classes handled by name (Anonymous, ...).
# VERSION() (CurrentVersion) is allowed: the engine version is public and in error texts.
SQLGLOT_FUNCTIONS = _names(
    """
    # aggregate
    AnyValue ApproxPercentileAccumulate ApproxPercentileCombine ApproxPercentileEstimate
    ApproxQuantile ApproxQuantiles ApproxTopK ApproxTopKAccumulate ApproxTopKCombine
    ApproxTopKEstimate ApproxTopSum ApproximateSimilarity ArgMax ArgMin ArrayAgg ArrayConcatAgg
    ArrayUnionAgg ArrayUniqueAgg Avg Corr Count CountIf CovarPop CovarSamp CumeDist DenseRank First
    FirstValue GroupConcat Grouping GroupingId Kurtosis Lag Last LastValue Lead LogicalAnd LogicalOr
    Max Median Min Minhash MinhashCombine Mode NthValue Ntile ObjectAgg PercentRank PercentileCont
    PercentileDisc Quantile Rank RegrAvgx RegrAvgy RegrCount RegrIntercept RegrR2 RegrSlope RegrSxx
    RegrSxy RegrSyy RegrValx RegrValy RowNumber Skewness Stddev StddevPop StddevSamp Sum Variance
    VariancePop
    # array
    Apply Array ArrayAll ArrayAny ArrayAppend ArrayCompact ArrayConcat ArrayConstructCompact
    ArrayContainedBy ArrayContains ArrayContainsAll ArrayDistinct ArrayExcept ArrayFilter ArrayFirst
    ArrayInsert ArrayIntersect ArrayLast ArrayMax ArrayMin ArrayOverlaps ArrayPosition ArrayPrepend
    ArrayRemove ArrayRemoveAt ArrayReverse ArraySize ArraySlice ArraySort ArraySum ArrayToString
    ArraysZip Explode ExplodingGenerateSeries Flatten GenerateSeries Inline List Map MapCat
    MapContainsKey MapDelete MapFromEntries MapInsert MapKeys MapPick MapSize Posexplode
    PosexplodeOuter Reduce Shuffle StDistance StPoint Stack StarMap StringToArray StrtokToArray
    Struct StructExtract ToArray ToMap Transform Unnest VarMap _ExplodeOuter
    # core
    And ApproxDistinct HashAgg Hll Or Pow RegexpLike Typeof Xor
    # functions
    Case Cast CastToStrType CheckXml Coalesce Collate Collation Columns ConnectByRoot Convert
    CurrentVersion DecodeCase EqualNull Exists Float64 GetIgnoreCase Greatest Host If Int64 IsArray
    IsNullValue JSONCast LaxBool LaxFloat64 LaxInt64 LaxString Least NetFunc Normal Nullif Nvl2
    ObjectTransform ParseIp Rand Randn Randstr RangeBucket RangeN RegDomain ToBoolean ToVariant Try
    TryCast Uniform Uuid WeekStart WidthBucket XMLElement XMLGet Zipf
    # json
    CheckJson FromJson JSONArray JSONArrayAgg JSONArrayAppend JSONArrayContains JSONArrayInsert
    JSONBContains JSONBContainsAllTopKeys JSONBContainsAnyTopKeys JSONBContainsTopKey
    JSONBDeleteAtPath JSONBExists JSONBExtract JSONBExtractScalar JSONBObjectAgg JSONBPathExists
    JSONBool JSONExists JSONExtract JSONExtractArray JSONExtractScalar JSONFormat JSONKeys
    JSONKeysAtDepth JSONObject JSONObjectAgg JSONRemove JSONSet JSONStripNulls JSONType ObjectInsert
    ParseJSON StripNullValue
    # math
    Abs Acos Acosh Asin Asinh Atan Atan2 Atanh BitmapBitPosition BitmapBucketNumber
    BitmapConstructAgg BitmapCount BitmapOrAgg BitwiseAndAgg BitwiseCount BitwiseOrAgg BitwiseXorAgg
    Booland Boolnot Boolor BoolxorAgg Cbrt Ceil Cos Cosh CosineDistance Cot Coth Csc Csch Degrees
    DotProduct EuclideanDistance Exp Factorial Floor Getbit IsInf IsNan JarowinklerSimilarity Ln Log
    ManhattanDistance Nanvl Negative Pi Radians Rint Round SafeAdd SafeDivide SafeMultiply
    SafeNegate SafeSubtract Sec Sech Sign Sin Sinh Sqrt Tan Tanh Trunc
    # query
    JSONValueArray
    # string
    Ascii Base64DecodeBinary Base64DecodeString Base64Encode BitLength ByteLength Chr CityHash64
    CodePointsToBytes CodePointsToString Compress Concat ConcatWs Contains ConvertToCharset Decode
    DecompressBinary DecompressString Decrypt DecryptRaw Elt Encode Encrypt EncryptRaw EndsWith
    FarmFingerprint Format FromBase FromBase32 FromBase64 Hex HexDecodeString Initcap IsAscii Left
    Length Levenshtein Lower LowerHex MD5 MD5Digest MD5NumberLower64 MD5NumberUpper64 MatchAgainst
    Normalize NumberToStr Overlay Pad ParseBignumeric ParseNumeric ParseUrl RegexpCount
    RegexpExtract RegexpExtractAll RegexpFullMatch RegexpILike RegexpInstr RegexpReplace RegexpSplit
    RegexpSubstr Repeat Replace Reverse Right RtrimmedLength SHA SHA1Digest SHA2 SHA2Digest
    SafeConvertBytesToString Search SearchIp Soundex SoundexP123 Space Split SplitPart StandardHash
    StartsWith StrPosition StrToMap String Strtok Stuff Substring SubstringIndex ToBase32 ToBase64
    ToBinary ToChar ToCodePoints ToDecfloat ToDouble ToNumber Translate Trim TryBase64DecodeBinary
    TryBase64DecodeString TryHexDecodeBinary TryHexDecodeString TryToDecfloat Unhex Unicode Upper
    WeightString
    # temporal
    AddMonths ConvertTimezone CurrentDate CurrentDatetime CurrentTime CurrentTimestamp
    CurrentTimestampLTZ Date DateAdd DateBin DateDiff DateFromParts DateFromUnixDate DateStrToDate
    DateSub DateToDateStr DateToDi DateTrunc Datetime DatetimeAdd DatetimeDiff DatetimeSub
    DatetimeTrunc Day DayOfMonth DayOfWeek DayOfWeekIso DayOfYear Dayname DiToDate Extract
    FromISO8601Date FromISO8601Timestamp FromISO8601TimestampNanos GenerateDateArray
    GenerateTimestampArray GetExtract Hour JustifyDays JustifyHours JustifyInterval LastDay
    Localtime Localtimestamp MakeInterval Minute Month Monthname MonthsBetween NextDay ParseDatetime
    ParseTime PreviousDay Quarter Second StrToDate StrToTime StrToUnix Systimestamp Time TimeAdd
    TimeDiff TimeFromParts TimeSlice TimeStrToDate TimeStrToTime TimeStrToUnix TimeSub TimeToStr
    TimeToTimeStr TimeToUnix TimeTrunc Timestamp TimestampAdd TimestampDiff TimestampFromParts
    TimestampLtzFromParts TimestampSub TimestampTrunc TimestampTzFromParts ToDays TsOrDiToDi
    TsOrDsAdd TsOrDsDiff TsOrDsToDate TsOrDsToDateStr TsOrDsToDatetime TsOrDsToTime
    TsOrDsToTimestamp UnixDate UnixMicros UnixMillis UnixSeconds UnixToStr UnixToTime UnixToTimeStr
    UtcDate UtcTime UtcTimestamp Week WeekOfYear Year YearOfWeek YearOfWeekIso
    """
)

# DuckDB scalar functions and macros sqlglot leaves as Anonymous (duckdb_functions()).
# Left out: current_setting / current_query / current_schema(s) / current_database /
# in_search_path / get_block_size (session and sandbox probes: current_setting shows the
# allowed directories), getvariable, nextval/currval, setseed, txid_current (state),
# sleep_ms, write_log, json_serialize_plan / json_(de)serialize_sql (bind other SQL,
# which reads files), the pg_catalog macros, __internal_* and the icu_collate_* helpers.
DUCKDB_FUNCTIONS = _lower(
    """
    # scalar
    abs acos acosh add age aggregate alias apply array_aggr array_aggregate array_apply
    array_cat array_concat array_contains array_cosine_distance array_cosine_similarity
    array_cross_product array_distance array_distinct array_dot_product array_extract
    array_filter array_grade_up array_has array_has_all array_has_any array_indexof
    array_inner_product array_intersect array_length array_negative_dot_product
    array_negative_inner_product array_position array_reduce array_resize array_reverse_sort
    array_select array_slice array_sort array_to_json array_transform array_unique array_value
    array_where array_zip ascii asin asinh atan atan2 atanh bar base64 bin bit_count bit_length
    bit_position bitstring can_cast_implicitly cardinality cast_to_type cbrt ceil ceiling
    century char_length character_length chr combine concat concat_ws constant_or_null contains
    cos cosh cot create_sort_key current_date current_localtime current_localtimestamp
    damerau_levenshtein date_diff date_part date_sub date_trunc datediff datepart datesub
    datetrunc day dayname dayofmonth dayofweek dayofyear decade decode degrees divide editdist3
    element_at encode ends_with enum_code enum_first enum_last enum_range enum_range_boundary
    epoch epoch_ms epoch_ns epoch_us equi_width_bins era even exp factorial filter finalize
    flatten floor format formatReadableDecimalSize formatReadableSize format_bytes from_base64
    from_binary from_hex from_json from_json_strict gamma gcd gen_random_uuid generate_series
    get_bit get_current_time get_current_timestamp get_type grade_up greatest
    greatest_common_divisor hamming hash hex hour icu_sort_key ilike_escape instr
    is_histogram_other_bin isfinite isinf isnan isodow isoyear jaccard jaro_similarity
    jaro_winkler_similarity json_array json_array_length json_contains json_exists json_extract
    json_extract_path json_extract_path_text json_extract_string json_keys json_merge_patch
    json_object json_pretty json_quote json_structure json_transform json_transform_strict
    json_type json_valid json_value julian last_day lcase lcm least least_common_multiple left
    left_grapheme len length length_grapheme levenshtein lgamma like_escape list_aggr
    list_aggregate list_apply list_cat list_concat list_contains list_cosine_distance
    list_cosine_similarity list_distance list_distinct list_dot_product list_element
    list_extract list_filter list_grade_up list_has list_has_all list_has_any list_indexof
    list_inner_product list_intersect list_negative_dot_product list_negative_inner_product
    list_pack list_position list_reduce list_resize list_reverse_sort list_select list_slice
    list_sort list_transform list_unique list_value list_where list_zip ln log log10 log2 lower
    lpad ltrim make_date make_time make_timestamp make_timestamp_ms make_timestamp_ns
    make_timestamptz make_type map map_concat map_contains map_entries map_extract
    map_extract_value map_from_entries map_keys map_values md5 md5_number microsecond millennium
    millisecond minute mismatches mod month monthname multiply nanosecond nextafter
    nfc_normalize normalized_interval not_ilike_escape not_like_escape now octet_length ord
    parse_dirname parse_dirpath parse_filename parse_formatted_bytes parse_path pi position pow
    power prefix printf quarter radians random range reduce regexp_escape regexp_extract
    regexp_extract_all regexp_full_match regexp_matches regexp_replace regexp_split_to_array
    remap_struct repeat replace replace_type reverse right right_grapheme round row row_to_json
    rpad rtrim second set_bit sha1 sha256 sign signbit sin sinh split sqrt st_asbinary st_astext
    st_aswkb st_aswkt st_crs st_geomfromwkb st_intersects_extent st_setcrs starts_with stats
    str_split str_split_regex strftime string_split string_split_regex string_to_array
    strip_accents strlen strpos strptime struct_concat struct_contains struct_extract
    struct_extract_at struct_has struct_indexof struct_insert struct_keys struct_pack
    struct_position struct_update struct_values substr substring substring_grapheme subtract
    suffix switch tan tanh time_bucket timetz_byte_comparable timezone timezone_hour
    timezone_minute to_base to_base64 to_binary to_centuries to_days to_decades to_hex to_hours
    to_json to_microseconds to_millennia to_milliseconds to_minutes to_months to_quarters
    to_seconds to_timestamp to_weeks to_years today transaction_timestamp translate trim trunc
    try_strptime typeof ucase unbin unhex unicode union_extract union_tag union_value
    unpivot_list upper url_decode url_encode uuid uuid_extract_timestamp uuid_extract_version
    uuidv4 uuidv7 variant_bytes_to_variant variant_extract variant_normalize
    variant_to_parquet_variant variant_typeof vector_type version week weekday weekofyear xor
    year yearweek
    # macro
    ago array_append array_pop_back array_pop_front array_prepend array_push_back
    array_push_front array_reverse array_to_string array_to_string_comma_default date_add
    days_in_month fdiv fmod generate_subscripts geomean geometric_mean json json_group_array
    json_group_object json_group_structure list_any_value list_append list_approx_count_distinct
    list_avg list_bit_and list_bit_or list_bit_xor list_bool_and list_bool_or list_count
    list_entropy list_first list_histogram list_kurtosis list_kurtosis_pop list_last list_mad
    list_max list_median list_min list_mode list_prepend list_product list_reverse list_sem
    list_skewness list_stddev_pop list_stddev_samp list_string_agg list_sum list_var_pop
    list_var_samp map_contains_entry map_contains_value md5_number_lower md5_number_upper nullif
    regexp_split_to_table round_even roundbankers split_part wavg weighted_avg
    # aggregate and window
    any_value approx_count_distinct approx_quantile approx_top_k arbitrary arg_max arg_max_null
    arg_max_nulls_last arg_min arg_min_null arg_min_nulls_last argmax argmin array_agg avg
    bit_and bit_or bit_xor bitstring_agg bool_and bool_or corr count count_if count_star countif
    covar_pop covar_samp cume_dist dense_rank entropy favg fill first first_value fsum
    group_concat histogram histogram_exact kahan_sum kurtosis kurtosis_pop lag last last_value
    lead list listagg mad max max_by mean median min min_by mode nth_value ntile percent_rank
    product quantile quantile_cont quantile_disc rank rank_dense regr_avgx regr_avgy regr_count
    regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy reservoir_quantile row_number
    sem skewness stddev stddev_pop stddev_samp string_agg sum sum_no_overflow sumkahan var_pop
    var_samp variance
    """
)

# ClickHouse aggregate functions (system.functions where is_aggregate), also the bases
# that combinators extend.
CLICKHOUSE_AGGREGATES = _lower(
    """
    aggThrow analysisOfVariance anova any any_respect_nulls any_value any_value_respect_nulls
    anyHeavy anyLast anyLast_respect_nulls anyLastRespectNulls anyRespectNulls
    anyValueRespectNulls approx_top_count approx_top_k approx_top_sum argAndMax argAndMin argMax
    argMin array_agg avg avgWeighted BIT_AND BIT_OR BIT_XOR boundingRatio
    categoricalInformationValue contingency corr corrMatrix corrStable count COVAR_POP
    COVAR_SAMP covarPop covarPopMatrix covarPopStable covarSamp covarSampMatrix covarSampStable
    cramersV cramersVBiasCorrected cume_dist deltaSum deltaSumTimestamp dense_rank denseRank
    distinctDynamicTypes distinctJSONPaths distinctJSONPathsAndTypes entropy
    estimateCompressionRatio exponentialMovingAverage exponentialTimeDecayedAvg
    exponentialTimeDecayedCount exponentialTimeDecayedMax exponentialTimeDecayedSum first_value
    first_value_respect_nulls firstValueRespectNulls gini group_concat groupArray
    groupArrayInsertAt groupArrayIntersect groupArrayLast groupArrayMovingAvg
    groupArrayMovingSum groupArraySample groupArraySorted groupBitAnd groupBitmap groupBitmapAnd
    groupBitmapOr groupBitmapXor groupBitOr groupBitXor groupConcat groupFormat
    groupNumericIndexedVector groupUniqArray histogram intervalLengthSum kolmogorovSmirnovTest
    kurtPop kurtSamp lag lagInFrame largestTriangleThreeBuckets last_value
    last_value_respect_nulls lastValueRespectNulls lead leadInFrame lttb mannWhitneyUTest max
    max_by maxIntersections maxIntersectionsPosition maxMappedArrays meanZTest median
    medianBFloat16 medianBFloat16Weighted medianDD medianDeterministic medianExact
    medianExactHigh medianExactLow medianExactWeighted medianExactWeightedInterpolated medianGK
    medianInterpolatedWeighted medianTDigest medianTDigestWeighted medianTiming
    medianTimingWeighted mergedJSONPatch min min_by minMappedArrays MVTEncode
    nonNegativeDerivative nothing nothingNull nothingUInt64 nth_value ntile percent_rank
    percentRank quantile quantileBFloat16 quantileBFloat16Weighted quantileDD
    quantileDeterministic quantileExact quantileExactExclusive quantileExactHigh
    quantileExactInclusive quantileExactLow quantileExactWeighted
    quantileExactWeightedInterpolated quantileGK quantileInterpolatedWeighted
    quantilePrometheusHistogram quantiles quantilesBFloat16 quantilesBFloat16Weighted
    quantilesDD quantilesDeterministic quantilesExact quantilesExactExclusive quantilesExactHigh
    quantilesExactInclusive quantilesExactLow quantilesExactWeighted
    quantilesExactWeightedInterpolated quantilesGK quantilesInterpolatedWeighted
    quantilesPrometheusHistogram quantilesTDigest quantilesTDigestWeighted quantilesTiming
    quantilesTimingWeighted quantileTDigest quantileTDigestWeighted quantileTiming
    quantileTimingWeighted rank rankCorr regr_avgx regr_avgy regr_count regr_intercept regr_r2
    regr_slope regr_sxx regr_sxy regr_syy retention row_number sequenceCount sequenceMatch
    sequenceMatchEvents sequenceNextNode simpleLinearRegression singleValueOrNull skewPop
    skewSamp sparkbar sparkBar ST_AsMVT STD STDDEV STDDEV_POP STDDEV_SAMP stddevPop
    stddevPopStable stddevSamp stddevSampStable string_agg studentTTest studentTTestOneSample
    sum sumCount sumKahan sumMapFiltered sumMapFilteredWithOverflow sumMappedArrays
    sumMapWithOverflow sumWithOverflow theilsU timeSeriesAvgToGrid timeSeriesBottomKMasks
    timeSeriesChangesToGrid timeSeriesCountToGrid timeSeriesDeltaToGrid timeSeriesDerivToGrid
    timeSeriesGroupArray timeSeriesIncreaseToGrid timeSeriesInstantDeltaToGrid
    timeSeriesInstantRateToGrid timeSeriesLastToGrid timeSeriesLastTwoSamples
    timeSeriesLimitKMasks timeSeriesMaxToGrid timeSeriesMinToGrid timeSeriesPredictLinearToGrid
    timeSeriesRateToGrid timeSeriesResampleToGridWithStaleness timeSeriesResetsToGrid
    timeSeriesSumToGrid timeSeriesTimestampOfMaxToGrid timeSeriesTimestampOfMinToGrid
    timeSeriesTopKMasks topK topKWeighted uniq uniqCombined uniqCombined64 uniqExact uniqHLL12
    uniqUpTo VAR_POP VAR_SAMP varPop varPopStable varSamp varSampStable welchTTest windowFunnel
    """
)

# ClickHouse scalar functions by system.functions category, aliases included.
# Left out whole: Dictionary and Embedded Dictionary (dictGet*, regionTo*: external
# sources), Introspection, Internal, AI (aiGenerate, ...: network calls), Machine
# Learning (model files), Time Series tag storage (timeSeries*Tag*: server-global state).
# Left out of "Other": file, getSetting*, getServerSetting, getMergeTreeSetting,
# getMacro, hostName/FQDN, filesystemAvailable/Capacity/Unreserved, currentUser/Database/
# Roles/Profiles/QueryID, queryID, initialQueryID, connectionId, serverUUID, uptime,
# buildId, revision, tcpPort, getServerPort, shardNum/Count, displayName, showCertificate,
# getOSKernelVersion, getClientHTTPHeader, hasColumnInTable, joinGet, globalVariable,
# generateSerialID (Keeper state), sleep/sleepEachRow, logTrace, transaction*, the query
# text tools (formatQuery, normalizeQuery, ...), serverTimezone and chdb().
CLICKHOUSE_FUNCTIONS = (
    _lower(
        """
    # Arithmetic
    abs avg2 byteSwap divide divideDecimal divideOrNull gcd ifNotFinite intDiv intDivOrNull
    intDivOrZero isFinite isInfinite isNaN kqlBin kqlBinAt kqlDateTimeBinAt kqlDivide
    kqlMultiply kqlRangeCount lcm max2 midpoint min2 minus mod modOrNull modulo moduloLegacy
    moduloOrNull moduloOrZero multiply multiplyDecimal negate plus pmod pmodOrNull
    positive_modulo positive_modulo_or_null positiveModulo positiveModuloOrNull sqr
    # Arrays
    array array_remove arrayAll arrayAUC arrayAUCPR arrayAutocorrelation arrayAvg arrayBottomK
    arrayCompact arrayConcat arrayCount arrayCumSum arrayCumSumNonNegative arrayDifference
    arrayDistinct arrayDotProduct arrayElement arrayElementOrNull arrayEnumerate
    arrayEnumerateDense arrayEnumerateDenseRanked arrayEnumerateUniq arrayEnumerateUniqRanked
    arrayExcept arrayExists arrayFill arrayFilter arrayFirst arrayFirstIndex arrayFirstOrNull
    arrayFlatten arrayFlattenedLength arrayFold arrayIntersect arrayJaccardIndex arrayJoin
    arrayLast arrayLastIndex arrayLastOrNull arrayLevenshteinDistance
    arrayLevenshteinDistanceWeighted arrayMap arrayMax arrayMin arrayNormalizedGini
    arrayPartialReverseSort arrayPartialShuffle arrayPartialSort arrayPopBack arrayPopFront
    arrayPRAUC arrayProduct arrayPushBack arrayPushFront arrayRandomSample arrayReduce
    arrayReduceInRanges arrayRemove arrayResize arrayReverse arrayReverseFill arrayReverseSort
    arrayReverseSplit arrayROCAUC arrayRotateLeft arrayRotateRight arrayShiftLeft
    arrayShiftRight arrayShingles arrayShuffle arraySimilarity arraySlice arraySort arraySplit
    arraySum arraySymmetricDifference arrayTopK arrayTranspose arrayUnion arrayUniq
    arrayWithConstant arrayZip arrayZipUnaligned CARDINALITY countEqual empty emptyArrayDate
    emptyArrayDateTime emptyArrayFloat32 emptyArrayFloat64 emptyArrayInt16 emptyArrayInt32
    emptyArrayInt64 emptyArrayInt8 emptyArrayString emptyArrayToSingle emptyArrayUInt16
    emptyArrayUInt32 emptyArrayUInt64 emptyArrayUInt8 flatten has hasAll hasAny hasSubstr
    indexOf indexOfAssumeSorted length notEmpty notHas OCTET_LENGTH randomHadamardTransform
    range replicate reverse unnest
    # Bit
    bitAnd bitCount bitHammingDistance bitNot bitOr bitRotateLeft bitRotateRight bitShiftLeft
    bitShiftRight bitSlice bitTest bitTestAll bitTestAny bitXor
    # Bitmap
    bitmapAnd bitmapAndCardinality bitmapAndnot bitmapAndnotCardinality bitmapBuild
    bitmapCardinality bitmapContains bitmapHasAll bitmapHasAny bitmapMax bitmapMin bitmapOr
    bitmapOrCardinality bitmapSubsetInRange bitmapSubsetLimit bitmapToArray bitmapTransform
    bitmapXor bitmapXorCardinality subBitmap
    # Comparison
    equals greater greaterOrEquals in inIgnoreSet isDistinctFrom isNotDistinctFrom less
    lessOrEquals notEquals notIn notInIgnoreSet notNullIn notNullInIgnoreSet nullIn
    nullInIgnoreSet
    # Conditional
    caseWithoutExpr caseWithoutExpression clamp greatest if least multiIf
    # Dates and Times
    addDate addDays addHours addInterval addMicroseconds addMilliseconds addMinutes addMonths
    addNanoseconds addQuarters addSeconds addTupleOfIntervals addWeeks addYears age changeDay
    changeHour changeMinute changeMonth changeSecond changeYear curdate current_date
    current_timestamp date_bin DATE_DIFF date_diff DATE_FORMAT DATE_TRUNC dateDiff dateName
    dateTrunc DAY DAYOFMONTH DAYOFWEEK DAYOFYEAR formatDateTime formatDateTimeInJodaSyntax
    FROM_DAYS FROM_UNIXTIME from_utc_timestamp fromDaysSinceYearZero fromDaysSinceYearZero32
    fromModifiedJulianDay fromModifiedJulianDayOrNull fromUnixTimestamp
    fromUnixTimestampInJodaSyntax fromUTCTimestamp HOUR LAST_DAY localtime localtimestamp
    makeDate makeDate32 makeDateTime makeDateTime64 MICROSECOND MILLISECOND MINUTE MONTH
    monthName NANOSECOND now now64 nowInBlock nowInBlock64 QUARTER SECOND subDate subtractDays
    subtractHours subtractInterval subtractMicroseconds subtractMilliseconds subtractMinutes
    subtractMonths subtractNanoseconds subtractQuarters subtractSeconds subtractTupleOfIntervals
    subtractWeeks subtractYears time_bucket timeDiff timeSlot timeSlots timestamp TIMESTAMP_DIFF
    timestamp_diff timestampDiff timezone timeZone timezoneOf timeZoneOf timezoneOffset
    timeZoneOffset TO_DAYS to_utc_timestamp today toDayOfMonth toDayOfWeek toDayOfYear
    toDaysInMonth toDaysSinceYearZero toHour toISOWeek toISOYear toLastDayOfMonth
    toLastDayOfWeek toMicrosecond toMillisecond toMinute toModifiedJulianDay
    toModifiedJulianDayOrNull toMonday toMonth toMonthNumSinceEpoch toNanosecond toQuarter
    toRelativeDayNum toRelativeHourNum toRelativeMinuteNum toRelativeMonthNum
    toRelativeQuarterNum toRelativeSecondNum toRelativeWeekNum toRelativeYearNum toSecond
    toStartOfDay toStartOfFifteenMinutes toStartOfFiveMinute toStartOfFiveMinutes toStartOfHour
    toStartOfInterval toStartOfISOYear toStartOfMicrosecond toStartOfMillisecond toStartOfMinute
    toStartOfMonth toStartOfNanosecond toStartOfQuarter toStartOfSecond toStartOfTenMinutes
    toStartOfWeek toStartOfYear toTimeWithFixedDate toTimezone toTimeZone toUnixTimestamp
    toUTCTimestamp toWeek toYear toYearNumSinceEpoch toYearWeek toYYYYMM toYYYYMMDD
    toYYYYMMDDhhmmss UTC_timestamp UTCTimestamp week YEAR yearweek yesterday
    YYYYMMDDhhmmssToDateTime YYYYMMDDhhmmssToDateTime64 YYYYMMDDToDate YYYYMMDDToDate32
    # Distance
    cosineDistance cosineDistanceTransposed cosineDistanceTransposedQuantized distanceCosine
    distanceCosineTransposed distanceL1 distanceL2 distanceL2Squared distanceL2Transposed
    distanceLinf distanceLp dotProductTransposed dotProductTransposedQuantized L1Distance L1Norm
    L1Normalize L2Distance L2DistanceTransposed L2DistanceTransposedQuantized L2Norm L2Normalize
    L2SquaredDistance L2SquaredNorm LinfDistance LinfNorm LinfNormalize LpDistance LpNorm
    LpNormalize normalizeL1 normalizeL2 normalizeLinf normalizeLp normL1 normL2 normL2Squared
    normLinf normLp scalarProductTransposed
    # Encoding
    bin bitmaskToArray bitmaskToList bitPositionsToArray char hex hilbertDecode hilbertEncode
    mortonDecode mortonEncode sqid sqidDecode sqidEncode unbin unhex
    # Encryption
    aes_decrypt_mysql aes_encrypt_mysql decrypt encrypt HMAC tryDecrypt
    # Financial
    financialInternalRateOfReturn financialInternalRateOfReturnExtended financialNetPresentValue
    financialNetPresentValueExtended
    # Geo
    areaCartesian areaSpherical geoDistance geohashDecode geohashEncode geohashesInBox
    geometryIntersectCartesian geometryIntersectSpherical geoToH3 geoToMGRS geoToUTM
    greatCircleAngle greatCircleDistance h3CellAreaM2 h3CellAreaRads2 h3Distance h3EdgeAngle
    h3EdgeLengthKm h3EdgeLengthM h3ExactEdgeLengthKm h3ExactEdgeLengthM h3ExactEdgeLengthRads
    h3GetBaseCell h3GetDestinationIndexFromUnidirectionalEdge h3GetFaces
    h3GetIndexesFromUnidirectionalEdge h3GetOriginIndexFromUnidirectionalEdge
    h3GetPentagonIndexes h3GetRes0Indexes h3GetResolution h3GetUnidirectionalEdge
    h3GetUnidirectionalEdgeBoundary h3GetUnidirectionalEdgesFromHexagon h3HexAreaKm2 h3HexAreaM2
    h3HexRing h3IndexesAreNeighbors h3IsPentagon h3IsResClassIII h3IsValid h3kRing h3Line
    h3NumHexagons h3PointDistKm h3PointDistM h3PointDistRads h3PolygonToCells
    h3PolygonToCellsWithContainment h3ToCenterChild h3ToChildren h3ToGeo h3ToGeoBoundary
    h3ToParent h3ToString h3UnidirectionalEdgeIsValid MGRSToGeo MVTBoundingBox
    MVTBoundingBoxMercator perimeterCartesian perimeterSpherical pointInEllipses pointInPolygon
    polygonsIntersectCartesian polygonsIntersectSpherical readWKB readWkb readWKT readWkt
    stringToH3 svg SVG UTMToGeo wkb WKB wkt WKT
    # Geo Polygon
    MVTEncodeGeom polygonAreaCartesian polygonAreaSpherical polygonConvexHullCartesian
    polygonPerimeterCartesian polygonPerimeterSpherical polygonsDistanceCartesian
    polygonsDistanceSpherical polygonsEqualsCartesian polygonsIntersectionCartesian
    polygonsIntersectionSpherical polygonsSymDifferenceCartesian polygonsSymDifferenceSpherical
    polygonsUnionCartesian polygonsUnionSpherical polygonsWithinCartesian
    polygonsWithinSpherical readWKBLineString readWKBMultiLineString readWKBMultiPoint
    readWKBMultiPolygon readWKBPoint readWKBPolygon readWKTLineString readWKTMultiLineString
    readWKTMultiPoint readWKTMultiPolygon readWKTPoint readWKTPolygon readWKTRing ST_AsMVTGeom
    ST_LineFromWKB ST_MLineFromWKB ST_MPointFromWKB ST_MPolyFromWKB ST_PointFromWKB
    ST_PolyFromWKB
    # Hash
    cityHash64 farmFingerprint64 farmHash64 gccMurmurHash halfMD5 hiveHash icebergHash intHash32
    intHash64 javaHash javaHashUTF16LE jumpConsistentHash kafkaMurmurHash keccak256
    kostikConsistentHash MD4 MD5 metroHash64 murmurHash2_32 murmurHash2_64 murmurHash3_128
    murmurHash3_32 murmurHash3_64 ngramMinHash ngramMinHashArg ngramMinHashArgCaseInsensitive
    ngramMinHashArgCaseInsensitiveUTF8 ngramMinHashArgUTF8 ngramMinHashCaseInsensitive
    ngramMinHashCaseInsensitiveUTF8 ngramMinHashUTF8 ngramSimHash ngramSimHashCaseInsensitive
    ngramSimHashCaseInsensitiveUTF8 ngramSimHashUTF8 RIPEMD160 SHA1 SHA224 SHA256 SHA384 SHA512
    SHA512_256 sipHash128 sipHash128Keyed sipHash128Reference sipHash128ReferenceKeyed sipHash64
    sipHash64Keyed URLHash wordShingleMinHash wordShingleMinHashArg
    wordShingleMinHashArgCaseInsensitive wordShingleMinHashArgCaseInsensitiveUTF8
    wordShingleMinHashArgUTF8 wordShingleMinHashCaseInsensitive
    wordShingleMinHashCaseInsensitiveUTF8 wordShingleMinHashUTF8 wordShingleSimHash
    wordShingleSimHashCaseInsensitive wordShingleSimHashCaseInsensitiveUTF8
    wordShingleSimHashUTF8 wyHash64 xxh3 xxh3_128 xxHash32 xxHash64 xxHash64Spark
    yandexConsistentHash
    # IP Address
    cutIPv6 INET6_ATON INET6_NTOA INET_ATON INET_NTOA IPv4CIDRToRange IPv4NumToString
    IPv4NumToStringClassC IPv4StringToNum IPv4StringToNumOrDefault IPv4StringToNumOrNull
    IPv4ToIPv6 IPv6CIDRToRange IPv6NumToString IPv6StringToNum IPv6StringToNumOrDefault
    IPv6StringToNumOrNull isIPAddressInRange isIPv4String isIPv6String toIPv4 toIPv4OrDefault
    toIPv4OrNull toIPv4OrZero toIPv6 toIPv6OrDefault toIPv6OrNull toIPv6OrZero
    # JSON
    dynamicElement dynamicType isDynamicElementInSharedData isValidJSON JSON_ARRAY_LENGTH
    JSON_EXISTS JSON_QUERY JSON_VALUE JSONAllPaths JSONAllPathsWithTypes JSONAllValues
    JSONArrayLength JSONDynamicPaths JSONDynamicPathsWithTypes JSONExtract JSONExtractArrayRaw
    JSONExtractArrayRawCaseInsensitive JSONExtractBool JSONExtractBoolCaseInsensitive
    JSONExtractCaseInsensitive JSONExtractFloat JSONExtractFloatCaseInsensitive JSONExtractInt
    JSONExtractIntCaseInsensitive JSONExtractKeys JSONExtractKeysAndValues
    JSONExtractKeysAndValuesCaseInsensitive JSONExtractKeysAndValuesRaw
    JSONExtractKeysAndValuesRawCaseInsensitive JSONExtractKeysCaseInsensitive JSONExtractRaw
    JSONExtractRawCaseInsensitive JSONExtractString JSONExtractStringCaseInsensitive
    JSONExtractUInt JSONExtractUIntCaseInsensitive JSONHas JSONKey JSONLength JSONMergePatch
    jsonMergePatch JSONSharedDataPaths JSONSharedDataPathsWithTypes JSONType prettyPrintJSON
    simpleJSONExtractBool simpleJSONExtractFloat simpleJSONExtractInt simpleJSONExtractRaw
    simpleJSONExtractString simpleJSONExtractUInt simpleJSONHas toJSONString
    visitParamExtractBool visitParamExtractFloat visitParamExtractInt visitParamExtractRaw
    visitParamExtractString visitParamExtractUInt visitParamHas
    # Logical
    and not or xor
    # Map
    extractKeyValuePairs extractKeyValuePairsWithEscaping map MAP_FROM_ARRAYS mapAdd mapAll
    mapApply mapConcat mapContains mapContainsKey mapContainsKeyLike mapContainsValue
    mapContainsValueLike mapExists mapExtractKeyLike mapExtractValueLike mapFilter mapFromArrays
    mapFromString mapKeys mapPartialReverseSort mapPartialSort mapPopulateSeries mapReverseSort
    mapSort mapSubtract mapUpdate mapValues str_to_map
    # Mathematical
    acos acosh asin asinh atan atan2 atanh cbrt cos cosh degrees e erf erfc exp exp10 exp2
    factorial hypot intExp10 intExp2 isPrime isProbablePrime lgamma ln log log10 log1p log2 pi
    pow power proportionsZTest radians sigmoid sign sin sinh sqrt tan tanh tgamma width_bucket
    widthBucket
    # Null
    assumeNotNull coalesce firstNonDefault ifNull isNotNull isNull isNullable isZeroOrNull
    nullIf toNullable
    # NumericIndexedVector
    numericIndexedVectorAllValueSum numericIndexedVectorBuild numericIndexedVectorCardinality
    numericIndexedVectorGetValue numericIndexedVectorPointwiseAdd
    numericIndexedVectorPointwiseDivide numericIndexedVectorPointwiseEqual
    numericIndexedVectorPointwiseGreater numericIndexedVectorPointwiseGreaterEqual
    numericIndexedVectorPointwiseLess numericIndexedVectorPointwiseLessEqual
    numericIndexedVectorPointwiseMultiply numericIndexedVectorPointwiseNotEqual
    numericIndexedVectorPointwiseSubtract numericIndexedVectorShortDebugString
    numericIndexedVectorToMap
    # Other
    bar blockNumber blockSize byteSize colorOKLABToSRGB colorOKLCHToSRGB colorSRGBToOKLAB
    colorSRGBToOKLCH countDigits defaultValueOfArgumentType defaultValueOfTypeName digits
    dumpColumnStructure errorCodeToName finalizeAggregation flipCoordinates FORMAT_BYTES
    formatReadableDecimalSize formatReadableQuantity formatReadableSize formatReadableTimeDelta
    generateRandomStructure getSizeOfEnumType getSubcolumn getTypeSerializationStreams
    icebergBucket icebergTruncate identity ignore initializeAggregation isConstant
    isDecimalOverflow lowCardinalityIndices lowCardinalityKeys MACNumToString MACStringToNum
    MACStringToOUI materialize minSampleSizeContinous minSampleSizeContinuous
    minSampleSizeConversion parseISO8601Duration parseReadableSize parseReadableSizeOrNull
    parseReadableSizeOrZero parseTimeDelta partitionId partitionID rowNumberInAllBlocks
    rowNumberInBlock runningAccumulate runningConcurrency runningDifference
    runningDifferenceStartingWithFirstValue structureToCapnProtoSchema structureToProtobufSchema
    throwIf toColumnTypeName toTypeName transform variantElement variantType version
    visibleWidth
    # QBit
    dequantizeInt8ToBFloat16 quantizeBFloat16ToInt8
    # Random Number
    fuzzBits rand rand32 rand64 randBernoulli randBinomial randCanonical randChiSquared
    randConstant randExponential randFisherF randLogNormal randNegativeBinomial randNormal
    randomFixedString randomPrintableASCII randomString randomStringUTF8 randPoisson
    randStudentT randUniform
    # Rounding
    ceil ceiling floor round roundAge roundBankers roundDown roundDuration roundToExp2 trunc
    truncate
    # String
    appendTrailingCharIfAbsent ascii base32Decode base32Encode base58Decode base58Encode
    base64Decode base64Encode base64URLDecode base64URLEncode basename byteHammingDistance
    byteSlice caseFoldUTF8 CHAR_LENGTH CHARACTER_LENGTH compareSubstrings concat concat_ws
    concatAssumeInjective concatWithSeparator concatWithSeparatorAssumeInjective conv
    convertCharset CRC32 CRC32IEEE CRC64 damerauLevenshteinDistance decodeHTMLComponent
    decodeXMLComponent editDistance editDistanceUTF8 encodeXMLComponent endsWith
    endsWithCaseInsensitive endsWithCaseInsensitiveUTF8 endsWithUTF8 extractTextFromHTML
    firstLine FROM_BASE64 initcap initcapUTF8 isASCII isValidASCII isValidUTF8 jaroSimilarity
    jaroWinklerSimilarity lcase left leftPad leftPadUTF8 leftUTF8 lengthUTF8 levenshteinDistance
    levenshteinDistanceUTF8 lower lowerUTF8 lpad ltrim mid mismatches NATURAL_SORT_KEY
    naturalSortKey normalizeUTF8NFC normalizeUTF8NFD normalizeUTF8NFKC normalizeUTF8NFKCCasefold
    normalizeUTF8NFKD REGEXP_EXTRACT regexp_instr REGEXP_SUBSTR regexpExtract regexpInstr
    regexpPosition removeAccentsUTF8 removeDiacriticsUTF8 repeat reverseUTF8 right rightPad
    rightPadUTF8 rightUTF8 rpad rtrim soundex space sparseGrams sparseGramsHashes
    sparseGramsHashesUTF8 sparseGramsUTF8 startsWith startsWithCaseInsensitive
    startsWithCaseInsensitiveUTF8 startsWithUTF8 stringBytesEntropy stringBytesUniq
    stringJaccardIndex stringJaccardIndexUTF8 substr substring SUBSTRING_INDEX substringIndex
    substringIndexUTF8 substringUTF8 TO_BASE64 toValidUTF8 trim trimBoth trimLeft trimRight
    tryBase32Decode tryBase58Decode tryBase64Decode tryBase64URLDecode ucase upper upperUTF8
    # String Replacement
    format overlay overlayUTF8 printf REGEXP_REPLACE regexpQuoteMeta replace replaceAll
    replaceOne replaceRegexpAll replaceRegexpOne translate translateUTF8
    # String Search
    countMatches countMatchesCaseInsensitive countSubstrings countSubstringsCaseInsensitive
    countSubstringsCaseInsensitiveUTF8 extract extractAll extractAllGroupsHorizontal
    extractGroups hasAllToken hasAllTokens hasAnyToken hasAnyTokens hasPhrase hasSubsequence
    hasSubsequenceCaseInsensitive hasSubsequenceCaseInsensitiveUTF8 hasSubsequenceUTF8 hasToken
    hasTokenCaseInsensitive hasTokenCaseInsensitiveOrNull hasTokenOrNull highlight ilike instr
    like locate match matchCaseInsensitive matchPhrase multiFuzzyMatchAllIndices
    multiFuzzyMatchAny multiFuzzyMatchAnyIndex multiMatchAllIndices multiMatchAny
    multiMatchAnyIndex multiSearchAllPositions multiSearchAllPositionsCaseInsensitive
    multiSearchAllPositionsCaseInsensitiveUTF8 multiSearchAllPositionsUTF8 multiSearchAny
    multiSearchAnyCaseInsensitive multiSearchAnyCaseInsensitiveUTF8 multiSearchAnyUTF8
    multiSearchFirstIndex multiSearchFirstIndexCaseInsensitive
    multiSearchFirstIndexCaseInsensitiveUTF8 multiSearchFirstIndexUTF8 multiSearchFirstPosition
    multiSearchFirstPositionCaseInsensitive multiSearchFirstPositionCaseInsensitiveUTF8
    multiSearchFirstPositionUTF8 ngramDistance ngramDistanceCaseInsensitive
    ngramDistanceCaseInsensitiveUTF8 ngramDistanceUTF8 ngramSearch ngramSearchCaseInsensitive
    ngramSearchCaseInsensitiveUTF8 ngramSearchUTF8 notILike notLike notMatch
    notMatchCaseInsensitive position positionCaseInsensitive positionCaseInsensitiveUTF8
    positionUTF8 REGEXP_MATCHES
    # String Splitting
    alphaTokens array_to_string arrayStringConcat extractAllGroups extractAllGroupsVertical
    naiveBayesNgrams ngrams reverseBySeparator splitByAlpha splitByChar splitByNonAlpha
    splitByRegexp splitByString splitByWhitespace tokens tokensForLikePattern
    # Time Series
    seriesDecomposeSTL seriesOutliersDetectTukey
    # Time Window
    hop hopEnd hopStart tumble tumbleEnd tumbleStart
    # Tuple
    dotProduct flattenTuple scalarProduct tuple tupleConcat tupleDivide tupleDivideByNumber
    tupleElement tupleHammingDistance tupleIntDiv tupleIntDivByNumber tupleIntDivOrZero
    tupleIntDivOrZeroByNumber tupleMinus tupleModulo tupleModuloByNumber tupleMultiply
    tupleMultiplyByNumber tupleNames tupleNegate tuplePlus tuplePositiveModuloByNumber
    tupleToNameValuePairs vectorDifference vectorSum
    # Type Conversion
    accurateCast accurateCastOrDefault accurateCastOrNull CAST DATE formatRow formatRowNoNewline
    fromUnixTimestamp64Micro fromUnixTimestamp64Milli fromUnixTimestamp64Nano
    fromUnixTimestamp64Second kqlParameterCast kqlToTimespan parseDateTime
    parseDateTime32BestEffort parseDateTime32BestEffortOrNull parseDateTime32BestEffortOrZero
    parseDateTime64 parseDateTime64BestEffort parseDateTime64BestEffortOrNull
    parseDateTime64BestEffortOrZero parseDateTime64BestEffortUS
    parseDateTime64BestEffortUSOrNull parseDateTime64BestEffortUSOrZero
    parseDateTime64InJodaSyntax parseDateTime64InJodaSyntaxOrNull
    parseDateTime64InJodaSyntaxOrZero parseDateTime64OrNull parseDateTime64OrZero
    parseDateTimeBestEffort parseDateTimeBestEffortOrNull parseDateTimeBestEffortOrZero
    parseDateTimeBestEffortUS parseDateTimeBestEffortUSOrNull parseDateTimeBestEffortUSOrZero
    parseDateTimeInJodaSyntax parseDateTimeInJodaSyntaxOrNull parseDateTimeInJodaSyntaxOrZero
    parseDateTimeOrNull parseDateTimeOrZero reinterpret reinterpretAsDate reinterpretAsDateTime
    reinterpretAsFixedString reinterpretAsFloat32 reinterpretAsFloat64 reinterpretAsInt128
    reinterpretAsInt16 reinterpretAsInt256 reinterpretAsInt32 reinterpretAsInt64
    reinterpretAsInt8 reinterpretAsString reinterpretAsUInt128 reinterpretAsUInt16
    reinterpretAsUInt256 reinterpretAsUInt32 reinterpretAsUInt64 reinterpretAsUInt8
    reinterpretAsUUID str_to_date TO_UNIXTIME toBFloat16 toBFloat16OrNull toBFloat16OrZero
    toBool toDate toDate32 toDate32OrDefault toDate32OrNull toDate32OrZero toDateOrDefault
    toDateOrNull toDateOrZero toDateTime toDateTime32 toDateTime64 toDateTime64OrDefault
    toDateTime64OrNull toDateTime64OrZero toDateTimeOrDefault toDateTimeOrNull toDateTimeOrZero
    toDecimal128 toDecimal128OrDefault toDecimal128OrNull toDecimal128OrZero toDecimal256
    toDecimal256OrDefault toDecimal256OrNull toDecimal256OrZero toDecimal32 toDecimal32OrDefault
    toDecimal32OrNull toDecimal32OrZero toDecimal64 toDecimal64OrDefault toDecimal64OrNull
    toDecimal64OrZero toDecimalString toFixedString toFloat32 toFloat32OrDefault toFloat32OrNull
    toFloat32OrZero toFloat64 toFloat64OrDefault toFloat64OrNull toFloat64OrZero toInt128
    toInt128OrDefault toInt128OrNull toInt128OrZero toInt16 toInt16OrDefault toInt16OrNull
    toInt16OrZero toInt256 toInt256OrDefault toInt256OrNull toInt256OrZero toInt32
    toInt32OrDefault toInt32OrNull toInt32OrZero toInt64 toInt64OrDefault toInt64OrNull
    toInt64OrZero toInt8 toInt8OrDefault toInt8OrNull toInt8OrZero toInterval toIntervalDay
    toIntervalHour toIntervalMicrosecond toIntervalMillisecond toIntervalMinute toIntervalMonth
    toIntervalNanosecond toIntervalQuarter toIntervalSecond toIntervalWeek toIntervalYear
    toLowCardinality toString toStringCutToZero toTime toTime64 toTime64OrNull toTime64OrZero
    toTimeOrNull toTimeOrZero toUInt128 toUInt128OrDefault toUInt128OrNull toUInt128OrZero
    toUInt16 toUInt16OrDefault toUInt16OrNull toUInt16OrZero toUInt256 toUInt256OrDefault
    toUInt256OrNull toUInt256OrZero toUInt32 toUInt32OrDefault toUInt32OrNull toUInt32OrZero
    toUInt64 toUInt64OrDefault toUInt64OrNull toUInt64OrZero toUInt8 toUInt8OrDefault
    toUInt8OrNull toUInt8OrZero toUnixTimestamp64Micro toUnixTimestamp64Milli
    toUnixTimestamp64Nano toUnixTimestamp64Second toUUID toUUIDOrZero
    # URL
    cutFragment cutQueryString cutQueryStringAndFragment cutToFirstSignificantSubdomain
    cutToFirstSignificantSubdomainCustom cutToFirstSignificantSubdomainCustomRFC
    cutToFirstSignificantSubdomainCustomWithWWW cutToFirstSignificantSubdomainCustomWithWWWRFC
    cutToFirstSignificantSubdomainRFC cutToFirstSignificantSubdomainWithWWW
    cutToFirstSignificantSubdomainWithWWWRFC cutURLParameter cutWWW decodeURLComponent
    decodeURLFormComponent domain domainRFC domainWithoutWWW domainWithoutWWWRFC
    encodeURLComponent encodeURLFormComponent extractURLParameter extractURLParameterNames
    extractURLParameters firstSignificantSubdomain firstSignificantSubdomainCustom
    firstSignificantSubdomainCustomRFC firstSignificantSubdomainRFC fragment netloc path
    pathFull port portRFC protocol queryString queryStringAndFragment topLevelDomain
    topLevelDomainRFC URLHierarchy URLPathHierarchy
    # UUID
    dateTime64ToSnowflakeID dateTimeToSnowflakeID dateTimeToUUIDv7 generateSnowflakeID
    generateUUIDv4 generateUUIDv7 snowflakeIDToDateTime snowflakeIDToDateTime64 toUUIDOrDefault
    toUUIDOrNull UUIDNumToString UUIDStringToNum UUIDToNum UUIDv7ToDateTime
    """
    )
    | CLICKHOUSE_AGGREGATES
)

# Suffixes that turn a ClickHouse aggregate into another aggregate (sumIf, uniqMerge).
# DuckDB functions with no ClickHouse function of that name that the router's rules write
# as ClickHouse SQL (clickhouse_rules/times.date_parts); the SQL ClickHouse runs is checked
# again after the rewrite (safety.check_engine_sql), so these never reach it as written.
CLICKHOUSE_REWRITTEN = _lower(
    """
    date_part datepart era decade century millennium isoyear isodow weekday epoch_us epoch_ns
    dayname monthname
    """
)

CLICKHOUSE_COMBINATORS = (
    "simplestate",
    "ordefault",
    "resample",
    "distinct",
    "foreach",
    "argmax",
    "argmin",
    "ornull",
    "state",
    "merge",
    "tuple",
    "array",
    "null",
    "map",
    "if",
)

# Table functions that make rows from their arguments alone.
DUCKDB_TABLE_FUNCTIONS = _lower(
    "range generate_series unnest repeat generate_subscripts json_each json_tree"
)
CLICKHOUSE_TABLE_FUNCTIONS = _lower(
    "numbers numbers_mt zeros zeros_mt generateSeries generate_series values primes"
)

# Table functions that read files: allowed with literal paths inside a lakehouse tier.
DUCKDB_FILE_TABLE_FUNCTIONS = _lower(
    "read_parquet parquet_scan read_csv read_csv_auto read_json read_json_auto "
    "read_ndjson read_ndjson_auto"
)
# ClickHouse's file()/s3() also take a structure string whose DEFAULT expressions run
# unchecked, so user calls get at most (path, format) with a format from this list.
CLICKHOUSE_FILE_TABLE_FUNCTIONS = _lower("file s3")
CLICKHOUSE_FILE_FORMATS = _lower(
    "Parquet CSV CSVWithNames TSV TSVWithNames TabSeparated TabSeparatedWithNames "
    "JSONEachRow JSONLines NDJSON ORC Arrow"
)

# Names an engine evaluates as a function when written without parentheses, where a
# column would otherwise be. Refused on every engine (no real column is named so); the
# harmless ones return the engine's own user or database name (never a password) or
# the clock, and stay allowed because they are common column names.
BARE_CALLS_REFUSED = _lower("currentUser currentDatabase currentRequestURL currentHandler")
CLICKHOUSE_BARE_CALLS_HARMLESS = _lower(
    "user current_user session_user database schema current_database now today curdate "
    "current_date current_timestamp localtime localtimestamp"
)
DUCKDB_BARE_CALLS_HARMLESS = _lower(
    "user current_user session_user current_role current_schema current_catalog "
    "current_date current_time current_timestamp localtime localtimestamp"
)

# Schemas that hold the engines' own catalogs and settings, never lakehouse data.
SYSTEM_SCHEMAS = _lower("system information_schema pg_catalog")
