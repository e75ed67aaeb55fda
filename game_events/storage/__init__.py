"""HDFS without Spark: the WebHDFS client, the reader of the stream's checkpoint, the
parquet footer codec and the compaction that uses them all.

    webhdfs.py          WebHdfs: the one HDFS client over HTTP
    checkpoint.py       the stream's last committed batch and its Kafka offsets
    parquet_footer.py   Thrift compact codec and footer surgery
    compaction.py       merges small landed files, atomically toward readers
"""
